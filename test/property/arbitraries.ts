import fc from 'fast-check';

/**
 * Generators the property files share: URL-ish text as a hostile or careless client writes it, and the
 * canonical URLs ingest would make of it. Built from parts rather than `fc.string()` alone, so most runs get
 * past the first refusal and reach the parser's corner cases (odd hosts, ports, dot segments, escapes).
 */

/** Characters a path, query or fragment may be written with: reserved, escapes, non-ASCII, the unsafe. */
const URL_PIECES = [
  ...'abcXYZ019-._~!$&\'()*+,;=:@/?#[]{}|\\^`"<>%',
  '%41',
  '%2e',
  '%2E',
  '%2F',
  '%25',
  '%zz',
  '%C3%A9',
  '%c3%a9',
  '.',
  '..',
  '&amp;',
  '&lt;',
  ']]>',
  'é',
  'ü',
  '€',
  '日本',
  '😀',
  'ﬁ',
  'Ａ',
];

const urlPiece = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...URL_PIECES) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 3 }) },
);

export const urlTail = fc.array(urlPiece, { maxLength: 12 }).map((pieces) => pieces.join(''));

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?$/),
  fc.constantFrom('WWW', 'Example', 'bücher', 'ＡＢＣ', '例え', 'xn--bcher-kva', '%41b', 'a_b', 'ß', 'İ'),
);

export const host = fc.oneof(
  { weight: 3, arbitrary: fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.')) },
  { weight: 2, arbitrary: fc.constantFrom('www.example.com', 'WWW.EXAMPLE.COM', 'img.example.com') },
  { weight: 1, arbitrary: fc.ipV4() },
  { weight: 1, arbitrary: fc.ipV4Extended() },
  { weight: 1, arbitrary: fc.ipV6().map((address) => `[${address}]`) },
  { weight: 1, arbitrary: fc.constantFrom('0x7f.1', '2130706433', '1.2.3', '[::ffff:1.2.3.4]', '', '.') },
);

const port = fc.oneof(
  fc.constant(''),
  fc.constantFrom(':', ':80', ':443', ':8080', ':0080', ':65535', ':65536', ':x'),
  fc.integer({ min: 0, max: 70_000 }).map((n) => `:${n}`),
);

const scheme = fc.constantFrom(
  'http://',
  'https://',
  'HTTP://',
  'HtTpS://',
  'http:',
  'https:/',
  'ftp://',
  '//',
  '',
);

const userInfo = fc.oneof(
  { weight: 8, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom('user@', 'user:pw@', ':@', '@') },
);

/** A URL as typed: scheme, user info, host, port and a tail drawn from the awkward pieces above. */
export const urlLike = fc
  .tuple(scheme, userInfo, host, port, fc.constantFrom('', '/'), urlTail)
  .map((parts) => parts.join(''));

/** Anything a client may put in a URL field: URL-ish mostly, sometimes well-formed, sometimes noise. */
export const rawUrl = fc.oneof(
  { weight: 6, arbitrary: urlLike },
  {
    weight: 2,
    arbitrary: fc.webUrl({
      validSchemes: ['http', 'https'],
      withQueryParameters: true,
      withFragments: true,
      size: 'small',
    }),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
);
