import { PurgeError } from '../../errors.ts';
import { bodyExcerpt, errorForStatus, type HttpResponse } from '../http.ts';
import type { SubmitResult } from '../provider.ts';
import { parseRetryAfter } from '../retry-after.ts';

/**
 * Cloudflare's v4 envelope, read defensively: `{success, errors: [{code, message, error_chain?}], messages,
 * result}`, `result` being an object, `{}` or null (inferred: both are parsed). Proxies in front of the API
 * may answer HTML or text instead.
 */
export interface CloudflareEnvelope {
  success: boolean | undefined;
  errors: CloudflareApiError[];
  result: unknown;
}

export interface CloudflareApiError {
  code: number | undefined;
  message: string;
}

const MAX_ERRORS_READ = 8;
const MAX_MESSAGE_CHARS = 300;

export function parseEnvelope(body: string): CloudflareEnvelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const json = value as Record<string, unknown>;
  const success = typeof json.success === 'boolean' ? json.success : undefined;
  return { success, errors: errorsOf(json.errors), result: json.result };
}

function errorsOf(value: unknown): CloudflareApiError[] {
  if (!Array.isArray(value)) return [];
  const errors: CloudflareApiError[] = [];
  for (const entry of value.slice(0, MAX_ERRORS_READ)) {
    if (entry === null || typeof entry !== 'object') continue;
    const { code, message, error_chain: chain } = entry as Record<string, unknown>;
    const numeric = typeof code === 'number' && Number.isInteger(code) ? code : undefined;
    let text = typeof message === 'string' ? message : '';
    // 6003 "Invalid request headers" says which header only in its chain (6103, 6111, ...).
    if (Array.isArray(chain)) {
      const inner = chain[0] as { code?: unknown; message?: unknown } | undefined;
      if (inner && typeof inner.message === 'string') text = `${text} (${inner.message})`;
      if (numeric === undefined && typeof inner?.code === 'number') {
        errors.push({ code: inner.code, message: clip(text) });
        continue;
      }
    }
    errors.push({ code: numeric, message: clip(text) });
  }
  return errors;
}

function clip(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_MESSAGE_CHARS ? `${flat.slice(0, MAX_MESSAGE_CHARS)}…` : flat;
}

export function describeErrors(errors: readonly CloudflareApiError[]): string {
  return errors.map(({ code, message }) => (code === undefined ? message : `${code} ${message}`)).join('; ');
}

/** `result.id` of an accepted purge, when it is a string. */
export function resultIdOf(envelope: CloudflareEnvelope): string | undefined {
  const result = envelope.result;
  if (result === null || typeof result !== 'object') return undefined;
  const id = (result as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Codes that mean the credentials, whatever the HTTP status carrying them: 10000 "Authentication error",
 * 6003 "Invalid request headers" (with 6103/6111 in its chain: a malformed key or Authorization header),
 * 9109 "Invalid access token". Seen in Cloudflare's answers quoted by third parties, not in its docs:
 * inferred, and a 401/403 is CDN_AUTH without them anyway.
 */
const AUTH_CODES = new Set([10000, 6003, 6103, 6111, 9106, 9109]);

/** Code 1012: the body held none (or more than one) of the purge fields, or one malformed. */
export const CODE_NO_PURGE_FIELD = 1012;

/**
 * A "too many items" refusal, whose code no source gives: its message says how many are allowed ("no more
 * than 100 items", "up to 30 files"). Returns that number when the message gives one, else 0; undefined when
 * this is not such a refusal. Only the first few hundred characters are looked at; linear regexes.
 */
export function tooManyItemsLimit(response: HttpResponse, envelope: CloudflareEnvelope | undefined) {
  if (response.status !== 400) return undefined;
  const messages = envelope ? envelope.errors.map((error) => error.message).join(' ') : response.body;
  const text = messages.slice(0, 600);
  const limit = /\b(?:no more than|up to|at most|maximum of|max(?:imum)?)\s+(\d{1,4})\b/i.exec(text);
  if (limit) return Number(limit[1]);
  return /\btoo many\b/i.test(text) ? 0 : undefined;
}

/**
 * A refusal as one of our errors. The HTTP status decides, as errorForStatus reads every CDN's, except: an
 * auth code is CDN_AUTH whatever the status; 409 is transient (the SDK retries it); a 429's wait is
 * Retry-After, else the `Ratelimit` header's `t=` (Retry-After may be missing on a 429 from another layer);
 * a 404 is the zone (the only resource in the path). A 200 with `success: false` (the SDK's null-result
 * quirk) is a refusal too: permanent, since nothing says it would read differently next time.
 */
export function refusalOf(response: HttpResponse, envelope: CloudflareEnvelope | undefined, what: string) {
  const errors = envelope?.errors ?? [];
  const reason = errors.length > 0 ? describeErrors(errors) : bodyExcerpt(response.body);
  const { status } = response;
  if (errors.some((error) => error.code !== undefined && AUTH_CODES.has(error.code))) {
    return new PurgeError('CDN_AUTH', `${what}: HTTP ${status} — ${reason}`, { httpStatus: status });
  }
  if (status === 429) {
    const retryAfterMs =
      parseRetryAfter(response.headers['retry-after']) ?? rateHeaderOf(response)?.resetAfterMs;
    return new PurgeError('CDN_RATE_LIMITED', `${what}: HTTP 429 — ${reason || 'rate limited'}`, {
      retryable: true,
      httpStatus: 429,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    });
  }
  if (status === 409) {
    return new PurgeError('CDN_UNAVAILABLE', `${what}: HTTP 409 — ${reason}`, {
      retryable: true,
      httpStatus: 409,
    });
  }
  if (status === 404) {
    return new PurgeError('CDN_NOT_FOUND', `${what}: HTTP 404 (is zoneId right?) — ${reason}`, {
      httpStatus: 404,
    });
  }
  if (status >= 200 && status < 300) {
    return new PurgeError(
      'CDN_REJECTED',
      `${what}: HTTP ${status} with success: false — ${reason || 'no errors given'}`,
      {
        httpStatus: status,
      },
    );
  }
  return errorForStatus(response, what, reason);
}

/** Bounded look at one header's value: a hostile answer may send a long one. */
function headerText(value: string | string[] | undefined): string | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  return raw === undefined ? undefined : raw.slice(0, 256);
}

const MAX_RESET_MS = 24 * 3600_000;

/**
 * The call's rate window as Cloudflare's headers tell it: `Ratelimit: "default";r=50;t=30` (r remaining,
 * t seconds to reset, per the IETF draft Cloudflare follows), or the older draft's separate
 * `Ratelimit-Remaining` / `Ratelimit-Reset` (inferred: tolerated, not documented for this API).
 */
export function rateHeaderOf(response: HttpResponse): SubmitResult['rateLimit'] {
  const combined = headerText(response.headers.ratelimit);
  let remaining: number | undefined;
  let reset: number | undefined;
  if (combined !== undefined) {
    remaining = numberParam(combined, 'r');
    reset = numberParam(combined, 't');
  } else {
    const r = headerText(response.headers['ratelimit-remaining'])?.trim();
    const t = headerText(response.headers['ratelimit-reset'])?.trim();
    remaining = r !== undefined && /^\d{1,9}$/.test(r) ? Number(r) : undefined;
    reset = t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : undefined;
  }
  if (remaining === undefined || reset === undefined) return undefined;
  return { remaining, resetAfterMs: Math.min(reset * 1000, MAX_RESET_MS) };
}

/** `name=<digits>` as a structured-field parameter (after `;`, or first): no backtracking to speak of. */
function numberParam(text: string, name: 'r' | 't'): number | undefined {
  const match = new RegExp(`(?:^|;)\\s*${name}=(\\d{1,9})(?:\\s*(?:;|,|$))`).exec(text);
  return match ? Number(match[1]) : undefined;
}
