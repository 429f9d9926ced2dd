/**
 * QUANTIL's wire format as the simulator speaks it: request authentication, the purge-urls body and the XML
 * answers. Written independently of the client's modules so a shared mistake cannot hide in both.
 */
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Reply } from './faults.ts';

export interface QuantilAccount {
  user: string;
  apiKey: string;
}

export const XML_CONTENT_TYPE = 'application/xml;charset=UTF-8';
const PROLOG = '<?xml version="1.0" encoding="UTF-8"?>';
const builder = new XMLBuilder({ ignoreAttributes: true });

export function xmlDocument(root: Record<string, unknown>): string {
  return `${PROLOG}${builder.build(root)}`;
}

export function xmlReply(status: number, body: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': XML_CONTENT_TYPE, ...headers }, body };
}

/** The doc lists no error format; this one is plausible and readable through a client's body excerpt. */
export function errorReply(status: number, code: string, message: string): Reply {
  return xmlReply(status, xmlDocument({ error: { code, message } }));
}

export type AuthResult = { ok: true; user: string } | { ok: false; reason: string };

export function verifyAuth(
  headers: IncomingHttpHeaders,
  accounts: readonly QuantilAccount[],
  now: number,
  maxSkewMs: number,
): AuthResult {
  const date = headers.date;
  if (date === undefined || date === '') return { ok: false, reason: 'missing Date header' };
  const at = Date.parse(date);
  if (Number.isNaN(at)) return { ok: false, reason: 'unreadable Date header' };
  if (Math.abs(at - now) > maxSkewMs) return { ok: false, reason: 'Date header too far from server time' };
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/.exec(headers.authorization ?? '');
  if (match?.[1] === undefined) return { ok: false, reason: 'missing Basic authorization' };
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const account = accounts.find((a) => a.user === user);
  if (!account || colon < 0) return { ok: false, reason: 'invalid user or password' };
  const expected = createHmac('sha1', account.apiKey).update(date).digest('base64');
  if (decoded.slice(colon + 1) !== expected) return { ok: false, reason: 'invalid user or password' };
  return { ok: true, user };
}

export interface PurgeUrls {
  fileUrls: string[];
  dirUrls: string[];
}

const purgeParser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'file-url' || name === 'dir-url',
});

export function parsePurgeUrls(raw: string): PurgeUrls | { error: string } {
  if (/<!DOCTYPE|<!ENTITY/i.test(raw)) return { error: 'DOCTYPE is not allowed' };
  if (raw.trim() === '' || XMLValidator.validate(raw) !== true) return { error: 'malformed XML' };
  const doc = purgeParser.parse(raw) as Record<string, unknown>;
  const root = doc['purge-urls'];
  if (root === null || typeof root !== 'object') return { error: 'missing purge-urls element' };
  const node = root as Record<string, unknown>;
  if (typeof node.version !== 'string' || node.version.trim() === '') return { error: 'missing version' };
  const fileUrls = node['file-url'] ?? [];
  const dirUrls = node['dir-url'] ?? [];
  if (!Array.isArray(fileUrls) || !Array.isArray(dirUrls)) return { error: 'malformed url list' };
  const all = [...fileUrls, ...dirUrls];
  if (all.length === 0) return { error: 'no file-url or dir-url' };
  const bad = all.find((u) => typeof u !== 'string' || !isHttpUrl(u));
  if (bad !== undefined) return { error: `invalid url ${JSON.stringify(bad)}` };
  return { fileUrls: fileUrls as string[], dirUrls: dirUrls as string[] };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Undocumented; an inferred shape that a tolerant client should read. */
export function createdDocument(purgeId: string): string {
  return xmlDocument({ 'purge-result': { 'purge-id': purgeId } });
}

export interface StatusItemView {
  path: string;
  isdir: boolean;
  status: string;
  /** null: no progress reported (an empty `rate`, which a client reads as unknown). */
  rate: number | null;
}

export function statusDocument(requestDate: string, items: StatusItemView[], casing: StatusCasing): string {
  const item = items.map((it, index) => ({
    path: it.path,
    status: caseStatus(it.status, casing, index),
    rate: it.rate === null ? '' : it.rate.toFixed(1),
    isdir: it.isdir ? 'Y' : 'N',
  }));
  return xmlDocument({ 'purge-result': { 'request-date': requestDate, item } });
}

export function listDocument(entries: Array<{ id: string; requestDate: string }>): string {
  const requests = entries.map((e) => ({ 'purge-id': e.id, 'request-date': e.requestDate }));
  return xmlDocument({ 'purge-list': { 'Purge-request': requests } });
}

/** Quotas reset at midnight UTC. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export type StatusCasing = 'lower' | 'capitalized' | 'mixed';

/**
 * The doc's text says `wait`, `run`, `Success`, `Failure`; its sample says `success`. `mixed` alternates
 * lower and capitalised item by item, so only a case-insensitive client passes.
 */
export function caseStatus(status: string, casing: StatusCasing, index: number): string {
  const capital = `${status.charAt(0).toUpperCase()}${status.slice(1)}`;
  if (casing === 'lower') return status;
  if (casing === 'capitalized') return status === 'success' || status === 'failure' ? capital : status;
  return index % 2 === 1 ? capital : status;
}

/** The documented paths; anything else under /api/purge is `unknown`. */
export type Route = { op: 'submit' | 'list' | 'unknown' } | { op: 'status'; id: string };

export function route(method: string, pathname: string): Route {
  if (/^\/api\/purge\/?$/.test(pathname)) {
    if (method === 'POST') return { op: 'submit' };
    if (method === 'GET') return { op: 'list' };
  }
  const status = /^\/api\/purge\/([^/]+)\/?$/.exec(pathname);
  if (status?.[1] !== undefined && method === 'GET') return { op: 'status', id: decodeSegment(status[1]) };
  return { op: 'unknown' };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
