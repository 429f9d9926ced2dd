/**
 * Shared by the QUANTIL simulator test files: a simulator on an injected clock and a client that signs
 * requests itself (HMAC-SHA1 over the Date header), independently of the provider's signing module.
 */
import { createHmac } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { Agent, request } from 'undici';
import type { EdgesOptions } from '../../src/simulator/edges/edges.ts';
import type { QuantilOptions } from '../../src/simulator/quantil.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { VimsOptions } from '../../src/simulator/vims.ts';

export const T0 = Date.UTC(2014, 7, 7, 18, 46, 21);
const ACCOUNTS = [
  { user: 'alice', apiKey: 'alice-key' },
  { user: 'bob', apiKey: 'bob-key' },
];
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const xml = new XMLParser({
  parseTagValue: false,
  isArray: (name) => name === 'item' || name === 'Purge-request',
});
const cleanups: Array<() => Promise<void>> = [];

/** Call from each test file's afterEach: closes every simulator and agent `setup` opened. */
export async function closeAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

/** What the simulator's XML answers parse to here: every leaf a string, `item` and `Purge-request` lists. */
interface XmlDoc {
  error?: { code?: string; message?: string };
  'purge-result'?: { 'request-date'?: string; item?: Array<Record<string, string>> };
  'purge-list'?: { 'Purge-request'?: Array<Record<string, string>> };
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  body?: string;
  user?: string;
  /** Key used to sign; defaults to the user's real key. */
  key?: string;
  /** Date header value; null omits it. Defaults to the simulator clock. */
  date?: string | null;
  headers?: Record<string, string>;
  headersTimeout?: number;
}

export function purgeXml(files: string[], dirs: string[] = []): string {
  const el = (name: string, url: string) => `<${name}>${url.replaceAll('&', '&amp;')}</${name}>`;
  return `<?xml version="1.0" encoding="UTF-8"?><purge-urls><version>1.0.0</version>${files
    .map((u) => el('file-url', u))
    .join('')}${dirs.map((u) => el('dir-url', u)).join('')}</purge-urls>`;
}

/** Besides QUANTIL's: VIMS and edges options, both put on the same clock when given. */
export interface AlsoOptions {
  vims?: VimsOptions;
  edges?: EdgesOptions;
}

export async function setup(quantil: QuantilOptions = {}, also: AlsoOptions = {}) {
  const clock = { now: T0 };
  const now = () => clock.now;
  const sim: Simulator = await startSimulator({
    quantil: { accounts: ACCOUNTS, taskDurationMs: 1000, now, ...quantil },
    ...(also.vims ? { vims: { now, ...also.vims } } : {}),
    ...(also.edges ? { edges: { now, ...also.edges } } : {}),
  });
  const agent = new Agent();
  cleanups.push(async () => {
    await sim.close();
    await agent.destroy();
  });
  async function call(path: string, options: CallOptions = {}) {
    const user = options.user ?? 'alice';
    const key = options.key ?? ACCOUNTS.find((a) => a.user === user)?.apiKey ?? 'none';
    const date = options.date === undefined ? new Date(clock.now).toUTCString() : options.date;
    const headers: Record<string, string> = { accept: 'application/xml' };
    if (date !== null) {
      headers.date = date;
      const signature = createHmac('sha1', key).update(date).digest('base64');
      headers.authorization = `Basic ${Buffer.from(`${user}:${signature}`).toString('base64')}`;
    }
    if (options.body !== undefined) headers['content-type'] = 'application/xml';
    const res = await request(`${sim.url}${path}`, {
      method: options.method ?? 'GET',
      headers: { ...headers, ...options.headers },
      dispatcher: agent,
      ...(options.body === undefined ? {} : { body: options.body }),
      ...(options.headersTimeout === undefined ? {} : { headersTimeout: options.headersTimeout }),
    });
    const text = await res.body.text();
    const header = (name: string) => res.headers[name] as string | undefined;
    return { status: res.statusCode, header, text, xml: () => xml.parse(text) as XmlDoc };
  }
  const submit = (files = ['http://h.example.com/a.txt'], dirs: string[] = [], options: CallOptions = {}) =>
    call('/api/purge', { method: 'POST', body: purgeXml(files, dirs), ...options });
  const idOf = (res: { header(name: string): string | undefined }) =>
    (res.header('location') ?? '').split('/api/purge/')[1] ?? '';
  const items = async (id: string, options: CallOptions = {}) =>
    (await call(`/api/purge/${id}`, options)).xml()['purge-result']?.item ?? [];
  return { sim, clock, call, submit, idOf, items };
}
