import { type Item, parseList, Token } from 'structured-headers';

/**
 * Whether an edge's copy of a URL was fetched after its purge was accepted: the judgement of one answer an
 * edge gave (or failed to give). It never guesses: what the answer cannot decide is `unverified`, never fresh.
 */
export type Verdict = 'fresh' | 'stale' | 'unverified';

export interface EdgeJudgement {
  verdict: Verdict;
  /** What decided it, for the purge's status and logs. */
  reason: string;
}

/** What an edge answered, or why it did not. Header names lower case, as undici and node:http give them. */
export type EdgeAnswer =
  | { status: number; headers: Readonly<Record<string, string | string[] | undefined>> }
  | { error: string };

export interface FreshnessInput {
  answer: EdgeAnswer;
  /** When the CDN accepted the purge (ms): a copy fetched after it is fresh. */
  acceptedAt: number;
  /** When the edge answered (ms). */
  checkedAt: number;
  /** The origin's current validators, when an origin is configured to ask: the strongest evidence. */
  origin?: { etag?: string; lastModified?: string };
}

/** Cache-Status `fwd` values (RFC 9211 §2.2) that mean the cache went upstream for this response. */
const FETCHED_UPSTREAM = new Set(['uri-miss', 'vary-miss', 'miss', 'request', 'stale', 'partial']);

/**
 * The decision, strongest evidence first:
 * 1. no answer, or a 5xx or other non-2xx: unverified;
 * 2. the origin's validators: an ETag (or Last-Modified) the origin no longer has is stale, the origin's own
 *    is fresh; this is what tells a copy a stale shield re-served (a miss here, the old object) from a new one;
 * 3. `Age` (RFC 9111 §5.1): no older than the time since the purge was accepted is fresh, older is stale;
 * 4. without Age, a miss in the last `Cache-Status` member (this cache's own, RFC 9211) or `X-Cache: MISS`
 *    is fresh; a hit with no Age cannot say when it was fetched: unverified.
 */
export function judgeFreshness(input: FreshnessInput): EdgeJudgement {
  const { answer } = input;
  if ('error' in answer) return { verdict: 'unverified', reason: `no answer: ${answer.error}` };
  if (answer.status < 200 || answer.status >= 300) {
    return { verdict: 'unverified', reason: `answered HTTP ${answer.status}` };
  }
  const header = (name: string) => {
    const value = answer.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const byOrigin = judgeByOrigin(header('etag'), header('last-modified'), input.origin);
  if (byOrigin) return byOrigin;

  const sinceAcceptedSeconds = Math.max(0, Math.floor((input.checkedAt - input.acceptedAt) / 1000));
  const age = parseAge(header('age'));
  if (age !== undefined) {
    return age <= sinceAcceptedSeconds
      ? { verdict: 'fresh', reason: `Age ${age} s, no older than the purge (${sinceAcceptedSeconds} s ago)` }
      : { verdict: 'stale', reason: `Age ${age} s, older than the purge (${sinceAcceptedSeconds} s ago)` };
  }
  const cacheStatus = ownCacheStatus(header('cache-status'));
  if (cacheStatus === 'miss') return { verdict: 'fresh', reason: 'Cache-Status: fetched upstream' };
  if (/^\s*miss\b/i.test(header('x-cache') ?? '')) return { verdict: 'fresh', reason: 'X-Cache: MISS' };
  return { verdict: 'unverified', reason: 'no Age, and no miss the edge owned up to' };
}

function judgeByOrigin(
  etag: string | undefined,
  lastModified: string | undefined,
  origin: FreshnessInput['origin'],
): EdgeJudgement | undefined {
  if (origin?.etag && etag) {
    return weakless(etag) === weakless(origin.etag)
      ? { verdict: 'fresh', reason: `ETag ${etag} is the origin's` }
      : { verdict: 'stale', reason: `ETag ${etag}, the origin's is ${origin.etag}` };
  }
  if (origin?.lastModified && lastModified) {
    const edge = Date.parse(lastModified);
    const current = Date.parse(origin.lastModified);
    if (Number.isNaN(edge) || Number.isNaN(current)) return undefined;
    return edge >= current
      ? { verdict: 'fresh', reason: `Last-Modified ${lastModified} is the origin's` }
      : { verdict: 'stale', reason: `Last-Modified ${lastModified}, the origin's is ${origin.lastModified}` };
  }
  return undefined;
}

/** A weak and a strong ETag of the same value name the same version of the object for this purpose. */
function weakless(etag: string): string {
  return etag.trim().replace(/^W\//, '');
}

/** RFC 9111 §5.1: delta-seconds, a non-negative integer; anything else is as if there were no Age. */
function parseAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const first = value.split(',')[0]?.trim() ?? '';
  if (!/^\d{1,10}$/.test(first)) return undefined;
  return Number(first);
}

/**
 * The last member of a Cache-Status list is the cache nearest the client, the edge asked (RFC 9211 §2):
 * `miss` when it went upstream for this answer (`fwd` one of the forward reasons), `hit` when it served it
 * itself, undefined when the header is absent or not a valid Structured Field list.
 */
export function ownCacheStatus(value: string | undefined): 'hit' | 'miss' | undefined {
  if (value === undefined || value.length > 4096) return undefined;
  let members: ReturnType<typeof parseList>;
  try {
    members = parseList(value);
  } catch {
    return undefined;
  }
  const own = members.at(-1);
  if (!own || !isItem(own)) return undefined;
  const [, params] = own;
  if (params.get('hit') === true) return 'hit';
  const fwd = params.get('fwd');
  const reason = fwd instanceof Token ? fwd.toString() : typeof fwd === 'string' ? fwd : undefined;
  return reason !== undefined && FETCHED_UPSTREAM.has(reason) ? 'miss' : undefined;
}

function isItem(member: ReturnType<typeof parseList>[number]): member is Item {
  return !Array.isArray(member[0]);
}
