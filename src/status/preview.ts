import { readFileSync } from 'node:fs';
import type { RedisClient } from '../queue/connection.ts';
import type { PendingEntry } from './flush-forecast.ts';
import { idempotencyKey, pendingKey } from './keys.ts';
import type { IdempotencyClaim } from './store.ts';

export interface PreviewRequest {
  idempotency?: IdempotencyClaim;
  /** Per CDN, the request's targets as pending-set members (pending-targets.ts). */
  cdns: ReadonlyArray<{ cdnId: string; members: readonly string[] }>;
  /** Daily quota counters to read. */
  quotaKeys: readonly string[];
  /** Most pending targets read per CDN, oldest first. */
  pendingLimit: number;
}

export interface PendingPreview {
  /** Targets pending for the CDN now, from every purge. */
  count: number;
  /** Per member of the request, in its order: already pending (a purge would join it). */
  joined: boolean[];
  /** The oldest pending targets, at most the limit, in take order. */
  oldest: PendingEntry[];
}

export interface PreviewReads {
  /** The purge the idempotency key maps to, and whether it was for the same request. */
  idempotency?: { id: string; sameRequest: boolean };
  /** In the request's CDN order. */
  pending: PendingPreview[];
  /** Each counter's use today, in the order asked. */
  quotaUsed: number[];
}

export interface PreviewReader {
  /** What accepting the request now would find, read in one Lua call; writes nothing. */
  read(request: PreviewRequest): Promise<PreviewReads>;
}

type PreviewReply = [string[], Array<[number, string, string[]]>, string[]];
type ScriptedRedis = RedisClient & {
  purgePreview(numberOfKeys: number, ...keysAndArgs: string[]): Promise<PreviewReply>;
};

const lua = readFileSync(new URL('./preview.lua', import.meta.url), 'utf8');

/**
 * The reads of a dry run. Every key it names is under the prefix, whose hash tag puts them in one Redis
 * Cluster slot, so one script sees them all at one moment (no purge accepted or flushed half-way through).
 */
export function createPreviewReader(redis: RedisClient, prefix: string): PreviewReader {
  const client = redis as ScriptedRedis;
  if (typeof client.purgePreview !== 'function') redis.defineCommand('purgePreview', { lua });

  return {
    async read(request) {
      const { idempotency } = request;
      const keys = [
        ...(idempotency ? [idempotencyKey(prefix, idempotency.scope, idempotency.key)] : []),
        ...request.cdns.map(({ cdnId }) => pendingKey(prefix, cdnId)),
        ...request.quotaKeys,
      ];
      const [earlier, cdns, used] = await client.purgePreview(
        keys.length,
        ...keys,
        idempotency ? '1' : '0',
        idempotency?.fingerprint ?? '',
        String(request.pendingLimit),
        JSON.stringify(request.cdns.map(({ members }) => members)),
      );
      return {
        ...(earlier.length === 2
          ? { idempotency: { id: String(earlier[0]), sameRequest: earlier[1] === '1' } }
          : {}),
        pending: cdns.map(([count, joined, oldest]) => ({
          count: Number(count),
          joined: [...String(joined)].map((flag) => flag === '1'),
          oldest: entriesOf(oldest),
        })),
        quotaUsed: used.map((value) => Number(value || 0)),
      };
    },
  };
}

function entriesOf(withScores: readonly string[]): PendingEntry[] {
  const entries: PendingEntry[] = [];
  for (let i = 0; i + 1 < withScores.length; i += 2) {
    entries.push({ member: String(withScores[i]), acceptedAt: Number(withScores[i + 1]) });
  }
  return entries;
}
