/**
 * The site behind the simulated edges: every URL exists (version 1, a default body, until something
 * publishes it), and each publish bumps the URL's version with its own ETag and Last-Modified, so a cache
 * holding an older copy is told apart by content and not only by timing.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonReply, readBody, send } from '../faults.ts';
import { type CacheKey, keyOfUrl, keyString } from './scope.ts';

export interface OriginObject extends CacheKey {
  version: number;
  etag: string;
  /** Whole seconds, as Last-Modified carries it. */
  lastModified: number;
  body: string;
  contentType: string;
}

export interface PublishContent {
  body?: string;
  contentType?: string;
}

export interface Origin {
  /** What the origin serves for a URL (or key) now. */
  current(url: string | CacheKey): OriginObject;
  /** Bumps the URL's version; the body defaults to a line naming the URL and its version. */
  publish(url: string | CacheKey, content?: PublishContent): OriginObject;
  /** GET/HEAD serve the current version for the Host and target asked; PUT publishes its body. */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export interface OriginOptions {
  now?: () => number;
  /** How many URLs may be published; the rest stay version 1. Bounds the origin's memory. */
  maxPublished?: number;
}

export const ORIGIN_CACHE_CONTROL = 'public, max-age=0, s-maxage=31536000';
const MAX_PUBLISHED_BODY_BYTES = 64 * 1024;
const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';

function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** Per URL so two URLs at one version never share an ETag; per version so a republish always changes it. */
function etagOf(key: CacheKey, version: number): string {
  const digest = createHash('sha1').update(keyString(key)).digest('hex').slice(0, 12);
  return `"${digest}-v${version}"`;
}

function defaultBody(key: CacheKey, version: number): string {
  return `${key.host}${key.target} version ${version}\n`;
}

export function originHeaders(object: OriginObject): Record<string, string> {
  return {
    'content-type': object.contentType,
    etag: object.etag,
    'last-modified': new Date(object.lastModified).toUTCString(),
    // Shared caches keep it until purged; browsers revalidate: the set-up purging exists for.
    'cache-control': ORIGIN_CACHE_CONTROL,
  };
}

/** The request's key, or why it has none: edges and the origin key requests the same way. */
export function keyOfRequest(req: IncomingMessage): CacheKey | { error: string } {
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || host === '') return { error: 'missing Host header' };
  const raw = req.url ?? '';
  // An absolute-form target (as sent to a proxy) names its own path; its authority is the Host's business.
  if (/^https?:\/\//i.test(raw)) {
    try {
      return { host, target: keyOfUrl(raw).target };
    } catch {
      return { error: 'unreadable request target' };
    }
  }
  if (!raw.startsWith('/')) return { error: 'request target must start with /' };
  return { host, target: raw };
}

export function createOrigin(options: OriginOptions = {}): Origin {
  const now = options.now ?? Date.now;
  const maxPublished = options.maxPublished ?? 10_000;
  // Version 1 of every URL dates from the origin's start: it was "there" before any cache asked.
  const epoch = wholeSeconds(now());
  const published = new Map<string, OriginObject>();

  function keyOf(url: string | CacheKey): CacheKey {
    return typeof url === 'string' ? keyOfUrl(url) : url;
  }

  function current(url: string | CacheKey): OriginObject {
    const key = keyOf(url);
    const object = published.get(keyString(key));
    if (object) return object;
    const { host, target } = key;
    return {
      host,
      target,
      version: 1,
      etag: etagOf(key, 1),
      lastModified: epoch,
      body: defaultBody(key, 1),
      contentType: DEFAULT_CONTENT_TYPE,
    };
  }

  function publish(url: string | CacheKey, content: PublishContent = {}): OriginObject {
    const key = keyOf(url);
    const id = keyString(key);
    if (!published.has(id) && published.size >= maxPublished) {
      throw new RangeError(`origin holds ${maxPublished} published URLs already`);
    }
    const version = current(key).version + 1;
    const object: OriginObject = {
      host: key.host,
      target: key.target,
      version,
      etag: etagOf(key, version),
      lastModified: wholeSeconds(now()),
      body: content.body ?? defaultBody(key, version),
      contentType: content.contentType ?? DEFAULT_CONTENT_TYPE,
    };
    published.set(id, object);
    return object;
  }

  function serve(req: IncomingMessage, res: ServerResponse, key: CacheKey): void {
    const object = current(key);
    const headers = {
      ...originHeaders(object),
      date: new Date(now()).toUTCString(),
      'content-length': String(Buffer.byteLength(object.body)),
    };
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : object.body);
  }

  function put(req: IncomingMessage, res: ServerResponse, key: CacheKey): void {
    readBody(req).then(
      (body) => {
        if (Buffer.byteLength(body) > MAX_PUBLISHED_BODY_BYTES) {
          send(res, jsonReply(413, { error: `body over ${MAX_PUBLISHED_BODY_BYTES} bytes` }));
          return;
        }
        const contentType = req.headers['content-type'];
        const content: PublishContent = body === '' ? {} : { body };
        if (contentType !== undefined && body !== '') content.contentType = contentType;
        try {
          const { version, etag, lastModified } = publish(key, content);
          send(res, jsonReply(200, { version, etag, lastModified: new Date(lastModified).toUTCString() }));
        } catch (error) {
          send(res, jsonReply(507, { error: error instanceof Error ? error.message : String(error) }));
        }
      },
      () => res.socket?.destroy(),
    );
  }

  return {
    current,
    publish,
    handle(req, res) {
      const key = keyOfRequest(req);
      if ('error' in key) {
        send(res, jsonReply(400, { error: key.error }));
        return;
      }
      const method = req.method ?? 'GET';
      if (method === 'GET' || method === 'HEAD') serve(req, res, key);
      else if (method === 'PUT') put(req, res, key);
      else send(res, jsonReply(405, { error: `method ${method} not allowed` }, { allow: 'GET, HEAD, PUT' }));
    },
  };
}
