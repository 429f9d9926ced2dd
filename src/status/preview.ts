import { readFileSync } from 'node:fs';
import { PRIORITIES, type Priority } from '../model/purge.ts';
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
  /** Most pending targets read per CDN and lane, oldest first. */
  pendingLimit: number;
}

export interface PendingPreview {
  /** Targets pending for the CDN now, from every purge, in all lanes. */
  count: number;
  /** The same per lane. */
  counts: Record<Priority, number>;
  /** Per member of the request, in its order: the lane it already waits in (a purge would join it). */
  joined: Array<Priority | undefined>;
  /** The oldest pending targets of each lane, at most the limit per lane, in take order. */
  oldest: PendingEntry[];
  /** Whether every pending target was read (none past the limit in any lane). */
  readAll: boolean;
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

type PreviewReply = [string[], Array<[number[], string, string[][]]>, string[]];
const LANE_OF_LETTER: Record<string, Priority> = { u: 'urgent', n: 'normal', b: 'bulk' };
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
        ...request.cdns.flatMap(({ cdnId }) => PRIORITIES.map((lane) => pendingKey(prefix, cdnId, lane))),
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
        pending: cdns.map(([counts, joined, oldest]) => {
          const perLane = Object.fromEntries(
            PRIORITIES.map((lane, l) => [lane, Number(counts[l] ?? 0)]),
          ) as Record<Priority, number>;
          const entries = PRIORITIES.map((lane, l) => entriesOf(oldest[l] ?? [], lane));
          return {
            count: PRIORITIES.reduce((sum, lane) => sum + perLane[lane], 0),
            counts: perLane,
            joined: [...String(joined)].map((letter) => LANE_OF_LETTER[letter]),
            oldest: entries.flat(),
            readAll: PRIORITIES.every((lane, l) => perLane[lane] <= (entries[l]?.length ?? 0)),
          };
        }),
        quotaUsed: used.map((value) => Number(value || 0)),
      };
    },
  };
}

function entriesOf(withScores: readonly string[], lane: Priority): PendingEntry[] {
  const entries: PendingEntry[] = [];
  for (let i = 0; i + 1 < withScores.length; i += 2) {
    entries.push({ member: String(withScores[i]), acceptedAt: Number(withScores[i + 1]), lane });
  }
  return entries;
}
