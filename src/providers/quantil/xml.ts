import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import { PurgeError } from '../../errors.ts';
import type { PurgeTarget } from '../../model/purge.ts';
import { bodyExcerpt, readAnswer } from '../http.ts';

/**
 * QUANTIL's wire format. Bodies come from the network, so parsing is defensive: a size cap and a DOCTYPE
 * refusal run before the parser sees anything, and the parser itself expands no entities at all.
 */

export const DEFAULT_MAX_XML_BYTES = 1024 * 1024;
const PROLOG = '<?xml version="1.0" encoding="UTF-8"?>';

// The builder escapes &, <, >, ' and " in text, so a query string's `&` goes out as `&amp;`.
const builder = new XMLBuilder({ ignoreAttributes: true, format: false });

export function buildPurgeXml(batch: PurgeTarget): string {
  const body = { 'purge-urls': { version: '1.0.0', 'file-url': batch.urls, 'dir-url': batch.dirs } };
  return `${PROLOG}${builder.build(body)}`;
}

export interface StatusItem {
  path: string;
  status: string;
  rate: string;
  isdir: string;
}

export interface StatusDocument {
  requestDate?: string;
  items: StatusItem[];
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const REFERENCE = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g;

/**
 * With entity processing off the parser leaves `&amp;` as is; a URL must read back as it was sent. Only the
 * five predefined entities and character references are decoded, in one pass, so nothing can expand.
 */
export function decodeXmlText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(REFERENCE, (whole, name?: string, dec?: string, hex?: string) => {
    if (name !== undefined) return PREDEFINED[name] ?? whole;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex ?? '', 16);
    return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

const SAFE_OPTIONS = {
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  tagValueProcessor: (_name: string, value: string) => decodeXmlText(value),
} as const;

const statusParser = new XMLParser({
  ...SAFE_OPTIONS,
  ignoreAttributes: true,
  isArray: (name) => name === 'item',
});
const idParser = new XMLParser({ ...SAFE_OPTIONS, ignoreAttributes: false, attributeNamePrefix: '@_' });

const UNSAFE_MARKUP = /<!DOCTYPE|<!ENTITY/i;

function badResponse(message: string): PurgeError {
  return new PurgeError('CDN_BAD_RESPONSE', message, { retryable: true });
}

// `length` counts UTF-16 units, never more than the UTF-8 bytes: a cheap first test before counting bytes.
function tooLarge(body: string, maxBytes: number): boolean {
  return body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes;
}

export function parseStatusXml(body: string, maxBytes = DEFAULT_MAX_XML_BYTES): StatusDocument {
  if (tooLarge(body, maxBytes))
    throw badResponse(`QUANTIL status: response body exceeds ${maxBytes} bytes, not parsed`);
  if (UNSAFE_MARKUP.test(body))
    throw badResponse('QUANTIL status: response contains a DOCTYPE or ENTITY declaration, refused');
  const valid = XMLValidator.validate(body);
  if (valid !== true)
    throw badResponse(`QUANTIL status: malformed XML (${valid.err.msg}): ${bodyExcerpt(body, 80)}`);
  // The parser throws plain Errors for what it will not build (more than 100 nested tags, a tag named
  // `__proto__` or `constructor`); readAnswer makes them the permanent bad answer they are.
  const doc = readAnswer('QUANTIL status', () => statusParser.parse(body));
  const root = isRecord(doc) ? doc['purge-result'] : undefined;
  if (root === undefined)
    throw badResponse(`QUANTIL status: no <purge-result> in response: ${bodyExcerpt(body, 80)}`);
  // `<purge-result/>` parses to '' and a text-only root to a string: both simply have no items.
  const node = isRecord(root) ? root : {};
  const items = (Array.isArray(node.item) ? node.item : []).map(toItem);
  const requestDate = text(node['request-date']);
  return requestDate === '' ? { items } : { requestDate, items };
}

function toItem(value: unknown): StatusItem {
  const node = isRecord(value) ? value : {};
  return {
    path: text(node.path),
    status: text(node.status),
    rate: text(node.rate),
    isdir: text(node.isdir),
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** Most specific first: a `request-id` might be the HTTP request's id rather than the purge's. */
const ID_NAMES = ['purgeid', 'id', 'requestid'];
const MAX_ID_LENGTH = 200;

/**
 * Inferred, not documented: the doc only says the purge-id "is returned when creating a new purge request",
 * not where or how. So this looks for `purge-id`, `purgeId`, `id` or `request-id` (element or attribute,
 * anywhere), then for any UUID in the text. Never throws: the caller turns "nothing found" into its error.
 */
export function parsePurgeIdFromXml(body: string, maxBytes = DEFAULT_MAX_XML_BYTES): string | undefined {
  if (body.trim() === '' || tooLarge(body, maxBytes)) return undefined;
  try {
    const found = idFromDocument(body);
    if (found !== undefined) return found;
  } catch {
    // The parser refused the body (deep nesting, a `__proto__` tag): its text may still hold a UUID.
  }
  return UUID.exec(body)?.[0];
}

function idFromDocument(body: string): string | undefined {
  if (UNSAFE_MARKUP.test(body) || XMLValidator.validate(body) !== true) return undefined;
  const doc: unknown = idParser.parse(body);
  for (const name of ID_NAMES) {
    const found = findValue(doc, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function findValue(node: unknown, name: string): string | undefined {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findValue(child, name);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isRecord(node)) return undefined;
  for (const [key, value] of Object.entries(node)) {
    if (normalizeName(key) !== name) continue;
    const candidate = (Array.isArray(value) ? value[0] : value) as unknown;
    const id = typeof candidate === 'string' ? candidate.trim() : '';
    if (id !== '' && id.length <= MAX_ID_LENGTH && !/\s/.test(id)) return id;
  }
  for (const value of Object.values(node)) {
    const found = findValue(value, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

function normalizeName(key: string): string {
  return key.replace(/^@_/, '').replace(/[-_]/g, '').toLowerCase();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.trim() : '';
}
