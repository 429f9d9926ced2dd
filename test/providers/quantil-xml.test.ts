import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { PurgeError } from '../../src/errors.ts';
import {
  buildPurgeXml,
  decodeXmlText,
  parsePurgeIdFromXml,
  parseStatusXml,
} from '../../src/providers/quantil/xml.ts';
import { DOC_SAMPLE } from './quantil-fixtures.ts';

const UUID = '3315965a-41fc-4c72-a8ff-4c54e0a106f1';

function refused(run: () => unknown): PurgeError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PurgeError);
    return error as PurgeError;
  }
  throw new Error('expected a PurgeError');
}

describe('QUANTIL purge-urls body', () => {
  it('builds the documented shape with a prolog, version, file-urls then dir-urls', () => {
    const xml = buildPurgeXml({ urls: ['http://h/a.txt', 'http://h/b.txt'], dirs: ['http://h/news/'] });
    expect(xml).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><purge-urls><version>1.0.0</version>' +
        '<file-url>http://h/a.txt</file-url><file-url>http://h/b.txt</file-url>' +
        '<dir-url>http://h/news/</dir-url></purge-urls>',
    );
    expect(buildPurgeXml({ urls: [], dirs: ['http://h/d/'] })).not.toContain('file-url');
  });

  it('escapes & and < so URLs with query strings stay one well-formed element', () => {
    const url = 'http://h/search?q=a&b=<c>&d="e"';
    const xml = buildPurgeXml({ urls: [url], dirs: [] });
    expect(xml).toContain('?q=a&amp;b=&lt;c&gt;&amp;d=');
    expect(xml).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
    const parsed = new XMLParser({ parseTagValue: false, isArray: (n) => n === 'file-url' }).parse(xml);
    expect(parsed['purge-urls']['file-url']).toEqual([url]);
  });

  it('round-trips escaped paths through the status parser', () => {
    const path = 'http://h/a?x=1&y=<2>&z=é';
    const body = new XMLBuilder({}).build({
      'purge-result': { item: { path, status: 'run', rate: '5.0', isdir: 'N' } },
    });
    expect(parseStatusXml(body).items[0]?.path).toBe(path);
    expect(decodeXmlText('&amp;lt; &#38; &#x26; &bogus; &#0;')).toBe('&lt; & & &bogus; &#0;');
  });
});

describe('QUANTIL status parsing', () => {
  it("parses the documentation's sample response into two string-valued items", () => {
    expect(parseStatusXml(DOC_SAMPLE)).toEqual({
      requestDate: 'Thu, 07 Aug 2014 18:46:21 GMT',
      items: [
        { path: 'http://mynewtestdomain1.com/1.txt', status: 'success', rate: '100.0', isdir: 'N' },
        { path: 'http://mynewtestdomain1.com/mydir', status: 'success', rate: '100.0', isdir: 'Y' },
      ],
    });
    // The doc indents with no-break spaces; a server indenting with plain spaces must read the same.
    expect(parseStatusXml(DOC_SAMPLE.replaceAll('\u00a0', ' '))).toEqual(parseStatusXml(DOC_SAMPLE));
  });

  it('keeps a single item a list and values strings', () => {
    const doc = parseStatusXml(
      '<purge-result><item><path>http://h/1</path><status>Run</status><rate>050.50</rate><isdir>N</isdir></item></purge-result>',
    );
    expect(doc.items).toEqual([{ path: 'http://h/1', status: 'Run', rate: '050.50', isdir: 'N' }]);
    expect(doc.requestDate).toBeUndefined();
    expect(parseStatusXml('<purge-result/>').items).toEqual([]);
    expect(parseStatusXml('<purge-result><item/></purge-result>').items).toEqual([
      { path: '', status: '', rate: '', isdir: '' },
    ]);
  });

  it('refuses an entity-expansion bomb before parsing', () => {
    const levels = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`,
    ).join('');
    const bomb = `<?xml version="1.0"?><!DOCTYPE purge-result [<!ENTITY lol0 "lol">${levels}]><purge-result><item><path>&lol9;</path></item></purge-result>`;
    // Refused by the check that runs before the parser (its message is its own), so nothing was expanded.
    const error = refused(() => parseStatusXml(bomb));
    expect(error.code).toBe('CDN_BAD_RESPONSE');
    expect(error.message).toBe('QUANTIL status: response contains a DOCTYPE or ENTITY declaration, refused');
    expect(refused(() => parseStatusXml('<!ENTITY x "y"><purge-result/>')).code).toBe('CDN_BAD_RESPONSE');
  });

  it('refuses a body over the size cap without parsing it', () => {
    // Malformed and with a DOCTYPE: had the validator, the parser or the DOCTYPE check seen it first, it
    // would be refused for that instead of for its size.
    const over = `<!DOCTYPE x><purge-result>${'<item>'.repeat(200_000)}`;
    expect(over.length).toBeGreaterThan(1024 * 1024);
    const error = refused(() => parseStatusXml(over));
    expect([error.code, error.retryable]).toEqual(['CDN_BAD_RESPONSE', true]);
    expect(error.message).toBe('QUANTIL status: response body exceeds 1048576 bytes, not parsed');
    // Counted in UTF-8 bytes, not UTF-16 units: 600,000 é are 1.2 MB.
    expect(refused(() => parseStatusXml(`<purge-result>${'é'.repeat(600_000)}`)).message).toMatch(
      /exceeds 1048576 bytes/,
    );
    expect(refused(() => parseStatusXml('<purge-result/>', 10)).message).toMatch(/exceeds 10 bytes/);
  });

  it('refuses deep nesting and tags named __proto__ or constructor as a bad response that is not retried', () => {
    const deep = `<purge-result>${'<a>'.repeat(500)}x${'</a>'.repeat(500)}</purge-result>`;
    for (const body of [
      deep,
      '<purge-result><__proto__><polluted>1</polluted></__proto__></purge-result>',
      '<purge-result><item><constructor>x</constructor></item></purge-result>',
    ]) {
      const error = refused(() => parseStatusXml(body));
      expect([error.code, error.retryable]).toEqual(['CDN_BAD_RESPONSE', false]);
      expect(error.message).toMatch(/^QUANTIL status: /);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a body without a purge-result root, or not XML at all', () => {
    for (const body of ['<purge-list/>', '', 'Service Unavailable', '<purge-result><item>', '{"a":1}']) {
      const error = refused(() => parseStatusXml(body));
      expect([error.code, error.retryable]).toEqual(['CDN_BAD_RESPONSE', true]);
    }
  });
});

describe('QUANTIL purge id from a create response (inferred format)', () => {
  it.each([
    [`<purge-result><purge-id>${UUID}</purge-id></purge-result>`, UUID],
    ['<result><purgeId>abc-1</purgeId></result>', 'abc-1'],
    ['<purge><id> 42 </id><request-id>r-9</request-id></purge>', '42'],
    ['<resp><request-id>r-9</request-id></resp>', 'r-9'],
    ['<resp><status>ok</status><purge id="p-7"/></resp>', 'p-7'],
    [`<message>purge ${UUID} created</message>`, UUID],
    [`accepted: ${UUID.toUpperCase()}`, UUID.toUpperCase()],
  ])('finds the id in %s', (body, id) => {
    expect(parsePurgeIdFromXml(body)).toBe(id);
  });

  it('returns undefined when there is none, without throwing', () => {
    for (const body of [
      '',
      '   ',
      '<ok/>',
      '<r><id></id></r>',
      '<!DOCTYPE x [<!ENTITY a "b">]><r><id>&a;</id></r>',
    ]) {
      expect(parsePurgeIdFromXml(body)).toBeUndefined();
    }
  });

  it('never throws on deep nesting or tags named __proto__ or constructor, and still finds a UUID in them', () => {
    const deep = (inner: string) => `${'<a>'.repeat(500)}${inner}${'</a>'.repeat(500)}`;
    expect(parsePurgeIdFromXml(deep('x'))).toBeUndefined();
    expect(parsePurgeIdFromXml(deep(`<id>${UUID}</id>`))).toBe(UUID);
    expect(parsePurgeIdFromXml('<r><__proto__><id>1</id></__proto__></r>')).toBeUndefined();
    expect(parsePurgeIdFromXml('<r><constructor>x</constructor></r>')).toBeUndefined();
    expect(parsePurgeIdFromXml(`<r><constructor/><purge-id>${UUID}</purge-id></r>`)).toBe(UUID);
  });
});
