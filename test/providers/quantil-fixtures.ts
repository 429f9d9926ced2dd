/** Shared by the QUANTIL xml and provider tests; not a test file itself. */

/**
 * The documentation's sample status response body, byte for byte: prolog on the root's line, blank lines, and
 * indentation made of U+00A0 no-break spaces (as the doc has them), which XML does not count as whitespace.
 */
export const DOC_SAMPLE = `<?xml version="1.0" encoding="UTF-8"?><purge-result>

\u00a0<request-date>Thu, 07 Aug 2014 18:46:21 GMT</request-date>

\u00a0<item>

\u00a0 \u00a0<path>http://mynewtestdomain1.com/1.txt</path>

\u00a0 \u00a0<status>success</status>

\u00a0 \u00a0<rate>100.0</rate>

\u00a0 \u00a0<isdir>N</isdir>

\u00a0</item>

\u00a0<item>

\u00a0 \u00a0<path>http://mynewtestdomain1.com/mydir</path>

\u00a0 \u00a0<status>success</status>

\u00a0 \u00a0<rate>100.0</rate>

\u00a0 \u00a0<isdir>Y</isdir>

\u00a0</item>

</purge-result>`;

export const DOC_PURGE_ID = '3315965a-41fc-4c72-a8ff-4c54e0a106f1';
