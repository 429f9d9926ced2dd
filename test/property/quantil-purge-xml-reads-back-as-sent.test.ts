import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { canonicalUrl } from '../../src/model/url.ts';
import { buildPurgeXml } from '../../src/providers/quantil/xml.ts';
import { parsePurgeUrls } from '../../src/simulator/quantil-wire.ts';
import { rawUrl } from './arbitraries.ts';

/**
 * What we POST to QUANTIL reads back, in any conforming XML parser, as the URLs we meant. The reader here is
 * XML 1.0 itself for this flat document (elements holding character data, sections 2.4 and 4.6): text up to
 * the next `<`, in which `&` may only start one of the five predefined entities or a character reference.
 * The simulator's reader, which the end-to-end tests rely on, must agree.
 */

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function characterData(text: string): string {
  expect(text, 'a raw < in character data').not.toContain('<');
  expect(text, 'a raw ]]> in character data').not.toContain(']]>');
  let out = '';
  let at = 0;
  while (at < text.length) {
    const amp = text.indexOf('&', at);
    if (amp < 0) return out + text.slice(at);
    const semi = text.indexOf(';', amp);
    expect(semi, `an & that starts no reference: ${text}`).toBeGreaterThan(amp);
    const name = text.slice(amp + 1, semi);
    let decoded: string | undefined = PREDEFINED[name];
    if (/^#[0-9]+$/.test(name)) decoded = String.fromCodePoint(Number(name.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(name)) decoded = String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    expect(decoded, `&${name}; is no reference XML defines`).toBeDefined();
    out += text.slice(at, amp) + decoded;
    at = semi + 1;
  }
  return out;
}

function readBack(xml: string): { fileUrls: string[]; dirUrls: string[] } {
  const prolog = '<?xml version="1.0" encoding="UTF-8"?>';
  expect(xml.startsWith(prolog)).toBe(true);
  const body = xml.slice(prolog.length);
  const root = /^<purge-urls><version>1\.0\.0<\/version>([\s\S]*)<\/purge-urls>$/.exec(body);
  expect(root, xml).not.toBeNull();
  const fileUrls: string[] = [];
  const dirUrls: string[] = [];
  // The document is flat: each child is <name>character data</name>, nothing else between them.
  const child = /<(file-url|dir-url)>([^<]*)<\/\1>/y;
  const children = root?.[1] ?? '';
  let end = 0;
  for (let match = child.exec(children); match !== null; match = child.exec(children)) {
    (match[1] === 'file-url' ? fileUrls : dirUrls).push(characterData(match[2] ?? ''));
    end = child.lastIndex;
  }
  expect(end, `unexpected markup in ${children}`).toBe(children.length);
  return { fileUrls, dirUrls };
}

const canonicalUrls = (role: 'url' | 'dir') =>
  fc.array(
    rawUrl.chain((raw) => {
      const result = canonicalUrl(raw, role);
      return fc.constant(result.ok ? result.value : `http://h.example.com/${role}/`);
    }),
    { maxLength: 8 },
  );

/** Any text an XML document can carry that no URL field would trim: no controls, no whitespace. */
const xmlText = fc
  .string({ unit: 'grapheme', maxLength: 30 })
  .map((text) => text.replace(/[\p{Cc}\p{Cs}\p{Z}\s\uFFFE\uFFFF]/gu, ''))
  .map((text) => `http://h.example.com/${text}`);
const awkward = fc.constantFrom(
  'http://h.example.com/a?x=1&y=2',
  'http://h.example.com/a?x=&amp;&lt;',
  'http://h.example.com/<a>\'"]]>',
  'http://h.example.com/&#38;&#x26;',
  'http://h.example.com/%26amp%3B',
  'http://h.example.com/日本/é',
  'http://h.example.com/😀',
);

describe('QUANTIL purge-urls XML (property)', () => {
  it('reads back as the canonical URLs and dirs it was built from, in order', () => {
    fc.assert(
      fc.property(canonicalUrls('url'), canonicalUrls('dir'), (urls, dirs) => {
        const xml = buildPurgeXml({ urls, dirs });
        expect(XMLValidator.validate(xml)).toBe(true);
        expect(readBack(xml)).toEqual({ fileUrls: urls, dirUrls: dirs });
        if (urls.length + dirs.length > 0)
          expect(parsePurgeUrls(xml)).toEqual({ fileUrls: urls, dirUrls: dirs });
      }),
      { numRuns: 800 },
    );
  });

  it('reads back as sent for any text, escapes and all: &, <, >, quotes, entities, non-ASCII', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(xmlText, awkward), { maxLength: 6 }),
        fc.array(fc.oneof(xmlText, awkward), { maxLength: 3 }),
        (urls, dirs) => {
          const xml = buildPurgeXml({ urls, dirs });
          expect(XMLValidator.validate(xml)).toBe(true);
          expect(readBack(xml)).toEqual({ fileUrls: urls, dirUrls: dirs });
        },
      ),
      { numRuns: 800 },
    );
  });
});
