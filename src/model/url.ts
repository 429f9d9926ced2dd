/**
 * One spelling per URL, decided once at ingest, so every CDN is sent the same string and the string names
 * the object the CDN actually cached. The WHATWG URL parser does the work: host lower-cased and in punycode,
 * default port dropped, dot segments resolved, percent-encoding as the parser emits it; the fragment (never
 * sent to a server, so never part of a cache key) is dropped. What the parser would quietly repair or strip
 * (control characters, whitespace) is refused instead: it means the caller's URL is not what they think.
 */
export const DEFAULT_MAX_URL_LENGTH = 2048;
/** The most `api.maxUrlLength` may be raised to: a check made before the config is known uses it. */
export const LARGEST_MAX_URL_LENGTH = 16_384;

export type UrlRole = 'url' | 'dir';

export type Canonical = { ok: true; value: string } | { ok: false; reason: string };

// Unicode's spaces beyond Latin-1 (U+0000-U+0020 and U+007F-U+00A0 are tested as ranges).
const UNICODE_SPACES = new Set([
  0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
  0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);

/** Index of the first control or whitespace character (C0, DEL, C1, any Unicode space), or -1. One pass. */
function firstForbiddenCharacter(text: string): number {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code <= 0x20 || (code >= 0x7f && code <= 0xa0) || UNICODE_SPACES.has(code)) return index;
  }
  return -1;
}

export function canonicalUrl(raw: string, role: UrlRole, maxLength = DEFAULT_MAX_URL_LENGTH): Canonical {
  // Bounded before anything else looks at it: the parser and the checks below are linear, but still.
  if (raw.length > maxLength) return { ok: false, reason: `is longer than ${maxLength} characters` };
  const bad = firstForbiddenCharacter(raw);
  if (bad >= 0) {
    const code = raw.charCodeAt(bad).toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, reason: `contains a control or whitespace character (U+${code}) at ${bad}` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    return { ok: false, reason: 'must be an absolute http(s) URL' };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, reason: 'must not contain user info (user:password@)' };
  }
  url.hash = '';
  if (role === 'dir') {
    // A dir is a directory on every CDN: without the slash VIMS would take `/news` as a bare prefix and
    // purge `/newsletter/...` too.
    // `search` reads '' for an empty query too, yet the href keeps its `?` (`/news/?`), and so would the
    // dir sent to a CDN. With the fragment gone, a `?` in the href can only start the query.
    if (url.href.includes('?')) return { ok: false, reason: 'a dir cannot have a query string' };
    if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  }
  const value = url.href;
  // Canonical encoding can only lengthen a URL (é becomes %C3%A9): the limit holds for what is sent.
  if (value.length > maxLength)
    return { ok: false, reason: `is longer than ${maxLength} characters once encoded` };
  return { ok: true, value };
}
