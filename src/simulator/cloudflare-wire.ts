/**
 * Cloudflare's purge_cache wire format for the simulator: the v4 envelope, body validation as the API does
 * it, the objects a zone holds (so tests can see what a purge removed), and the per-account token buckets.
 */
import { randomBytes } from 'node:crypto';
import { jsonReply, type Reply } from './faults.ts';

export interface CloudflareError {
  code: number;
  message: string;
  /** What 6003 "Invalid request headers" carries: which header, and why. */
  error_chain?: Array<{ code: number; message: string }>;
}

export function envelope(result: unknown, errors: CloudflareError[] = []): Record<string, unknown> {
  return { success: errors.length === 0, errors, messages: [], result };
}

export function failure(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return jsonReply(status, envelope(null, [{ code, message }]), headers);
}

/** A body for a `status` fault: the quirk of an HTTP 200 carrying `success: false`. */
export function cloudflareErrorBody(code: number, message: string): string {
  return JSON.stringify(envelope(null, [{ code, message }]));
}

/** Like a zone or purge id: 32 hex digits (the purge id's format is inferred). */
export function hexId(): string {
  return randomBytes(16).toString('hex');
}

export const CODE_AUTH = 10000;
export const CODE_NO_PURGE_FIELD = 1012;
/** Codes no source gives (unknown zone 7003 is Cloudflare's routing error; the others are placeholders). */
export const CODE_UNKNOWN_ZONE = 7003;
export const CODE_TOO_MANY = 1018;
export const CODE_BAD_PREFIX = 1019;
export const CODE_RATE_LIMITED = 971;

export const PURGE_FIELDS = ['purge_everything', 'files', 'tags', 'hosts', 'prefixes'] as const;
export type PurgeField = (typeof PURGE_FIELDS)[number];

const NO_FIELD_MESSAGE =
  'Request must contain one of "purge_everything", "files", "tags", "hosts" or "prefixes"';

export type ParsedPurge =
  | { field: 'purge_everything' }
  | { field: 'files'; files: Array<{ url: string; headers: Record<string, string> }> }
  | { field: 'tags' | 'hosts' | 'prefixes'; items: string[] };

export type Caps = { files: number; flex: number };

/** Validates a purge body as Cloudflare does: exactly one field, well formed, within the per-call caps. */
export function parsePurge(raw: string, caps: Caps): ParsedPurge | Reply {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return failure(400, 6007, 'Malformed JSON in request body');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
  }
  const record = body as Record<string, unknown>;
  const present = PURGE_FIELDS.filter((field) => record[field] !== undefined);
  if (present.length !== 1) return failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
  const field = present[0] as PurgeField;
  const value = record[field];
  if (field === 'purge_everything') {
    return value === true ? { field } : failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
  }
  if (!Array.isArray(value) || value.length === 0) return failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
  const cap = field === 'files' ? caps.files : caps.flex;
  if (value.length > cap) {
    const noun = field === 'files' ? 'files' : 'items';
    // The message's wording is inferred (cloudflare-docs#21338: "cannot provide more than 100 items").
    return failure(400, CODE_TOO_MANY, `No more than ${cap} ${noun} may be purged in one request`);
  }
  if (field === 'files') {
    const files: Array<{ url: string; headers: Record<string, string> }> = [];
    for (const entry of value) {
      const file = fileOf(entry);
      if (!file) return failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
      files.push(file);
    }
    return { field, files };
  }
  if (!value.every((item): item is string => typeof item === 'string' && item !== '')) {
    return failure(400, CODE_NO_PURGE_FIELD, NO_FIELD_MESSAGE);
  }
  if (field === 'prefixes') {
    for (const prefix of value) {
      const bad = prefixProblem(prefix);
      if (bad) return failure(400, CODE_BAD_PREFIX, `Invalid prefix ${JSON.stringify(prefix)}: ${bad}`);
    }
  }
  return { field, items: value };
}

function fileOf(entry: unknown): { url: string; headers: Record<string, string> } | undefined {
  if (typeof entry === 'string') return absoluteUrl(entry) ? { url: entry, headers: {} } : undefined;
  if (entry === null || typeof entry !== 'object') return undefined;
  const { url, headers } = entry as { url?: unknown; headers?: unknown };
  if (typeof url !== 'string' || !absoluteUrl(url)) return undefined;
  if (headers === undefined) return { url, headers: {} };
  if (headers === null || typeof headers !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(headers)) {
    if (typeof text !== 'string') return undefined;
    out[name.toLowerCase()] = text;
  }
  return { url, headers: out };
}

function absoluteUrl(text: string): boolean {
  return /^https?:\/\/[^/\s]+/i.test(text) && !/[*]/.test(text);
}

/** Host + path, no scheme, no query or fragment, at most 31 path separators. */
function prefixProblem(prefix: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(prefix)) return 'must not have a scheme';
  if (prefix.includes('?') || prefix.includes('#')) return 'must not have a query string or fragment';
  if (!/^[^/\s]+(\/|$)/.test(prefix)) return 'must start with a hostname';
  if (prefix.split('/').length - 1 > 31) return 'more than 31 path separators';
  return undefined;
}

export type ObjectState = 'fresh' | 'stale';

interface CachedObject {
  tags: Set<string>;
  state: ObjectState;
}

/**
 * What the zone's edge caches hold, keyed by URL as Cloudflare caches it (host lower-cased, path case
 * sensitive, query included). A soft purge (invalidate_cache) marks objects stale instead of deleting them.
 */
export class ZoneCache {
  readonly #objects = new Map<string, CachedObject>();

  put(url: string, tags: readonly string[] = []): void {
    this.#objects.set(keyOf(url), { tags: new Set(tags), state: 'fresh' });
  }

  /** 'fresh', 'stale' (after a soft purge), or undefined when not cached (purged). */
  state(url: string): ObjectState | undefined {
    return this.#objects.get(keyOf(url))?.state;
  }

  has(url: string): boolean {
    return this.#objects.has(keyOf(url));
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Applies a parsed purge; returns how many objects it hit. */
  apply(purge: ParsedPurge, soft: boolean): number {
    const hit = [...this.#objects.entries()].filter(([key, object]) => matches(purge, key, object));
    for (const [key, object] of hit) {
      if (soft) object.state = 'stale';
      else this.#objects.delete(key);
    }
    return hit.length;
  }
}

function keyOf(url: string): string {
  const parsed = new URL(url);
  parsed.hash = '';
  return parsed.href;
}

function matches(purge: ParsedPurge, key: string, object: CachedObject): boolean {
  const url = new URL(key);
  switch (purge.field) {
    case 'purge_everything':
      return true;
    case 'files':
      return purge.files.some((file) => {
        try {
          return keyOf(file.url) === key;
        } catch {
          return false;
        }
      });
    case 'hosts':
      return purge.items.some((host) => host.toLowerCase() === url.hostname);
    case 'tags':
      return purge.items.some((tag) => object.tags.has(tag));
    case 'prefixes': {
      // A prefix matches every URL starting with it, whatever its query string.
      const hostPath = `${url.host}${url.pathname}`;
      return purge.items.some((prefix) => hostPath.startsWith(prefixKey(prefix)));
    }
  }
}

/** The host part of a prefix is case-insensitive, its path is not. */
function prefixKey(prefix: string): string {
  const slash = prefix.indexOf('/');
  return slash < 0 ? prefix.toLowerCase() : `${prefix.slice(0, slash).toLowerCase()}${prefix.slice(slash)}`;
}

/**
 * A token bucket: `size` tokens, refilled at `perSecond`, a call spending `cost`. The file bucket's unit is a
 * URL (Cloudflare's "URLs per second" moving average is modelled as a bucket one second deep: inferred).
 */
export class TokenBucket {
  #tokens: number;
  #at: number;

  readonly size: number;
  readonly perSecond: number;

  constructor(size: number, perSecond: number, now: number) {
    this.size = size;
    this.perSecond = perSecond;
    this.#tokens = size;
    this.#at = now;
  }

  #refill(now: number): void {
    this.#tokens = Math.min(this.size, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
    this.#at = now;
  }

  take(cost: number, now: number): boolean {
    this.#refill(now);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  remaining(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** Whole seconds until `cost` tokens are there again (0 if they are): Retry-After, rounded up. */
  secondsUntil(cost: number, now: number): number {
    this.#refill(now);
    const missing = Math.max(0, cost - this.#tokens);
    return Math.ceil(missing / this.perSecond);
  }

  drain(now: number): void {
    this.#refill(now);
    this.#tokens = 0;
  }

  /**
   * The `Ratelimit` and `Ratelimit-Policy` headers: r remaining, t seconds until the next token when empty
   * (else until the bucket is full again: what "reset" means for a bucket is inferred); q the bucket, w the
   * seconds it takes to refill.
   */
  headers(now: number): Record<string, string> {
    const remaining = this.remaining(now);
    const reset = remaining === 0 ? this.secondsUntil(1, now) : this.secondsUntil(this.size, now);
    const window = Math.ceil(this.size / this.perSecond);
    return {
      ratelimit: `"default";r=${remaining};t=${reset}`,
      'ratelimit-policy': `"burst";q=${this.size};w=${window}`,
    };
  }
}
