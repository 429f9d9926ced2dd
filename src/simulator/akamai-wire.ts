/**
 * Fast Purge v3's wire as the simulator speaks it: routes, the request body schema, problem+json answers and
 * the per-account token buckets with their `X-Ratelimit-*` headers (shared/providers/akamai.md). Written apart
 * from the provider's mapping so a shared mistake cannot hide in both.
 */
import { randomInt } from 'node:crypto';
import type { Reply } from './faults.ts';

export type ObjectType = 'url' | 'cpcode' | 'tag';
export type Network = 'production' | 'staging';

export type Route =
  | { op: 'submit'; action: 'invalidate' | 'delete'; type: ObjectType; network: Network }
  | { op: 'status'; type: ObjectType }
  | { op: 'unknown' };

/** `POST /ccu/v3/{invalidate|delete}/{url|cpcode|tag}[/{network}]` (no network: production) and rate-limit-status. */
const PURGE = /^\/ccu\/v3\/(invalidate|delete)\/(url|cpcode|tag)(?:\/(staging|production))?$/;
const RATE_STATUS = /^\/ccu\/v3\/rate-limit-status\/(url|cpcode|tag)$/;

export function route(pathname: string): Route {
  const purge = PURGE.exec(pathname);
  if (purge) {
    return {
      op: 'submit',
      action: purge[1] as 'invalidate' | 'delete',
      type: purge[2] as ObjectType,
      network: (purge[3] ?? 'production') as Network,
    };
  }
  const status = RATE_STATUS.exec(pathname);
  if (status) return { op: 'status', type: status[1] as ObjectType };
  return { op: 'unknown' };
}

export interface ProblemOptions {
  contentType?: string;
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const PROBLEM_SLUG: Record<number, string> = {
  400: 'bad-request',
  403: 'forbidden',
  404: 'resource-not-found',
  405: 'method-not-allowed',
  413: 'request-entity-too-large',
  415: 'unsupported-media-type',
  429: 'rate-limit-exceeded',
  500: 'internal-error',
};

export function newSupportId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'edcp-';
  for (let i = 0; i < 22; i += 1) id += alphabet[randomInt(alphabet.length)];
  return id;
}

/** The Fast Purge error body: `{supportId, httpStatus, title, detail, describedBy}` (describedBy's URL: inferred). */
export function problemReply(
  status: number,
  title: string,
  detail: string,
  options: ProblemOptions = {},
): Reply {
  const body = {
    supportId: newSupportId(),
    httpStatus: status,
    title,
    detail,
    describedBy: `https://api.ccu.akamai.com/ccu/v2/errors/${PROBLEM_SLUG[status] ?? 'error'}`,
    ...options.extra,
  };
  return {
    status,
    headers: { 'content-type': options.contentType ?? 'application/problem+json', ...options.headers },
    body: JSON.stringify(body),
  };
}

/**
 * The API gateway's refusal of a request's EdgeGrid authentication, before Fast Purge sees it: its own
 * problem shape (`type`, `title`, `status`, `detail`, `instance`, ...), from memory of Akamai's answers (inferred).
 */
export function authRefusal(detail: string, instance: string, method: string): Reply {
  const body = {
    type: 'https://problems.luna.akamaiapis.net/-/pep-authn/deny',
    title: 'Not authorized',
    status: 401,
    detail,
    instance,
    method,
    requestId: newSupportId().slice(5, 13),
    requestTime: new Date().toISOString(),
  };
  return { status: 401, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify(body) };
}

export type Objects =
  | { type: 'url'; objects: string[]; hostname?: string }
  | { type: 'tag'; objects: string[] }
  | { type: 'cpcode'; objects: number[] };

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The body schema (`additionalProperties: false`): `objects` required and non-empty; URL requests may name a
 * `hostname` and then list paths; CP codes are integers. A non-ASCII URL is 400 "bad URL".
 */
export function parseObjects(
  type: ObjectType,
  raw: string,
): Objects | { status: number; title: string; detail: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { status: 400, title: 'Bad request', detail: 'Request body is not valid JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { status: 400, title: 'Bad request', detail: 'Request body must be a JSON object' };
  }
  const body = value as Record<string, unknown>;
  const allowed = type === 'url' ? ['objects', 'hostname'] : ['objects'];
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  if (extra !== undefined) return { status: 400, title: 'Bad request', detail: `Unknown property: ${extra}` };
  const { objects } = body;
  if (!Array.isArray(objects) || objects.length === 0) {
    return { status: 400, title: 'Bad request', detail: 'objects is required and must not be empty' };
  }
  if (type === 'cpcode') {
    const bad = objects.find((o) => typeof o !== 'number' || !Number.isInteger(o) || o <= 0);
    if (bad !== undefined)
      return { status: 400, title: 'Bad request', detail: `bad CP code: ${JSON.stringify(bad)}` };
    return { type, objects: objects as number[] };
  }
  const bad = objects.find((o) => typeof o !== 'string' || o === '');
  if (bad !== undefined)
    return { status: 400, title: 'Bad request', detail: `bad object: ${JSON.stringify(bad)}` };
  const strings = objects as string[];
  if (type === 'tag') return { type, objects: strings };
  const hostname = body.hostname;
  if (hostname !== undefined && (typeof hostname !== 'string' || !PRINTABLE_ASCII.test(hostname))) {
    return { status: 400, title: 'Bad request', detail: 'bad hostname' };
  }
  for (const object of strings) {
    const absolute = /^https?:\/\/[^/]+/.test(object);
    const fits = hostname === undefined ? absolute : object.startsWith('/') || absolute;
    if (!PRINTABLE_ASCII.test(object) || !fits) {
      return { status: 400, title: 'Bad request', detail: `bad URL: ${object.slice(0, 200)}` };
    }
  }
  return hostname === undefined ? { type, objects: strings } : { type, objects: strings, hostname };
}

/** The host a URL object purges (with `hostname`, a path purges on that host). */
export function hostOf(object: string, hostname: string | undefined): string | undefined {
  const match = /^https?:\/\/([^/:?#]+)/i.exec(object);
  return match?.[1]?.toLowerCase() ?? hostname?.toLowerCase();
}

export interface BucketSpec {
  size: number;
  perSecond: number;
}

/** The documented defaults: token buckets per account, shared by every API client of it. */
export const DEFAULT_BUCKETS: Readonly<Record<'requests' | ObjectType, BucketSpec>> = {
  requests: { size: 100, perSecond: 50 },
  url: { size: 10_000, perSecond: 200 },
  cpcode: { size: 300, perSecond: 30 / 60 },
  tag: { size: 5_000, perSecond: 500 / 60 },
};

/** A token bucket refilled continuously; a denied take consumes nothing. */
export class TokenBucket {
  readonly size: number;
  readonly perSecond: number;
  #tokens: number;
  #at: number;

  constructor(spec: BucketSpec, now: number) {
    this.size = spec.size;
    this.perSecond = spec.perSecond;
    this.#tokens = spec.size;
    this.#at = now;
  }

  tokens(now: number): number {
    if (now > this.#at) {
      this.#tokens = Math.min(this.size, this.#tokens + ((now - this.#at) / 1000) * this.perSecond);
      this.#at = now;
    }
    return this.#tokens;
  }

  has(count: number, now: number): boolean {
    return this.tokens(now) >= count;
  }

  take(count: number, now: number): void {
    this.#tokens = this.tokens(now) - count;
  }

  drain(now: number): void {
    this.tokens(now);
    this.#tokens = 0;
  }

  secondsToFull(now: number): number {
    return Math.ceil((this.size - this.tokens(now)) / this.perSecond);
  }
}

/** Rates as Akamai's headers might print a fraction (inferred): at most three decimals, no trailing zeros. */
function rate(perSecond: number): string {
  return String(Math.round(perSecond * 1000) / 1000);
}

export function rateHeaders(
  requests: TokenBucket,
  objects: TokenBucket,
  now: number,
  withRefresh: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(requests.size),
    'x-ratelimit-limit-per-second': rate(requests.perSecond),
    'x-ratelimit-remaining': String(Math.floor(requests.tokens(now))),
    'x-ratelimit-limit-objects': String(objects.size),
    'x-ratelimit-limit-per-second-objects': rate(objects.perSecond),
    'x-ratelimit-remaining-objects': String(Math.floor(objects.tokens(now))),
  };
  if (withRefresh) {
    headers['x-ratelimit-seconds-to-refresh-limit'] = String(requests.secondsToFull(now));
    headers['x-ratelimit-seconds-to-refresh-limit-objects'] = String(objects.secondsToFull(now));
  }
  return headers;
}
