import { readFileSync } from 'node:fs';
import type { ErrorCode } from '../errors.ts';
import { encodeCursor, type ListCursor, type ListQuery } from '../model/list-query.ts';
import type { PurgeTarget } from '../model/purge.ts';
import type { PurgeStatus } from '../model/status.ts';
import type { RedisClient } from '../queue/connection.ts';
import { planKey, purgeIndexKey } from './keys.ts';

/** One purge as a list shows it: its status without the batches, and why it did not succeed. */
export interface PurgeSummary {
  id: string;
  state: PurgeStatus['state'];
  createdAt: number;
  finishedAt?: number;
  label?: string;
  replayOf?: string;
  request: PurgeStatus['request'];
  cdns: string[];
  targets: PurgeStatus['targets'];
  /** The codes its failed and timed-out batches ended with, each once. */
  errorCodes: ErrorCode[];
  /** With a text filter: the targets that contain the text (up to three). */
  matches?: string[];
}

export interface ListPage {
  purges: PurgeSummary[];
  /** Present while index entries are left to look at: pass it back as `cursor` for the next page. */
  nextCursor?: string;
}

export interface PurgeListerDeps {
  redis: RedisClient;
  prefix: string;
  get(purgeId: string): Promise<PurgeStatus | undefined>;
}

/**
 * Work per page is bounded whatever the filters: at most SCAN_FACTOR x limit index entries are looked at
 * (each a status read), and a text filter reads at most PLAN_BYTES of plans. A page that stops on either
 * bound answers what it found, maybe nothing, with a cursor to go on.
 */
const SCAN_FACTOR = 10;
const MAX_SCAN = 2_000;
const CHUNK = 200;
const PLAN_BYTES = 16 * 1024 * 1024;
const MAX_MATCHES = 3;
/** The newest score a page may start at when no `until` is given (ms; Redis and Lua read it as a number). */
const LATEST = Number.MAX_SAFE_INTEGER;

type IndexedRedis = RedisClient & {
  purgeListIndex(key: string, max: string, min: string, after: string, count: string): Promise<string[]>;
};

/** Lists purges newest first from the purge index (status/keys.ts), filtered by what each record says. */
export function createPurgeLister({ redis, prefix, get }: PurgeListerDeps) {
  const client = redis as IndexedRedis;
  if (typeof client.purgeListIndex !== 'function') {
    const lua = readFileSync(new URL('./list-index.lua', import.meta.url), 'utf8');
    redis.defineCommand('purgeListIndex', { numberOfKeys: 1, lua });
  }

  async function entries(max: number, min: number, after: string, count: number): Promise<ListCursor[]> {
    const flat = await client.purgeListIndex(
      purgeIndexKey(prefix),
      String(max),
      String(min),
      after,
      String(count),
    );
    const found: ListCursor[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      found.push({ id: String(flat[i]), createdAt: Number(flat[i + 1]) });
    return found;
  }

  /**
   * Judges a chunk of entries in order; stops early (returns fewer verdicts) once the plans read would pass
   * the page's byte budget, but never before the first, so every page moves on.
   */
  async function judge(chunk: readonly ListCursor[], query: ListQuery, budget: { planBytes: number }) {
    const statuses = await Promise.all(chunk.map((entry) => get(entry.id)));
    const verdicts: Array<PurgeSummary | undefined> = [];
    const candidates = statuses.map((status) =>
      status && matchesRecord(status, query) ? status : undefined,
    );
    const text = query.text;
    let lengths: number[] = [];
    if (text !== undefined) {
      const pipeline = redis.pipeline();
      for (const status of candidates) if (status) pipeline.strlen(planKey(prefix, status.id));
      lengths = ((await pipeline.exec()) ?? []).map(([, length]) => Number(length ?? 0));
    }
    let candidateIndex = 0;
    for (const [index, status] of candidates.entries()) {
      if (!status) {
        verdicts.push(undefined);
        continue;
      }
      if (text === undefined) {
        verdicts.push(summaryOf(status));
        continue;
      }
      const length = lengths[candidateIndex++] ?? 0;
      if (index > 0 && length > budget.planBytes) break;
      budget.planBytes -= length;
      const matches = await matchingTargets(status.id, text);
      verdicts.push(matches.length > 0 ? { ...summaryOf(status), matches } : undefined);
    }
    return verdicts;
  }

  async function matchingTargets(purgeId: string, text: string): Promise<string[]> {
    const planText = await redis.get(planKey(prefix, purgeId));
    if (!planText) return [];
    const { targets } = JSON.parse(planText) as { targets: PurgeTarget[] };
    const needle = text.toLowerCase();
    const found = new Set<string>();
    for (const target of targets) {
      for (const value of [...target.urls, ...target.dirs, ...(target.tags ?? []), target.pattern ?? '']) {
        if (value !== '' && value.toLowerCase().includes(needle)) found.add(value);
        if (found.size >= MAX_MATCHES) return [...found];
      }
    }
    return [...found];
  }

  return async function list(query: ListQuery): Promise<ListPage> {
    const budget = Math.min(query.limit * SCAN_FACTOR, MAX_SCAN);
    const planBudget = { planBytes: PLAN_BYTES };
    const min = query.since ?? 0;
    let max = query.until ?? LATEST;
    let after = '';
    if (query.cursor && query.cursor.createdAt <= max) {
      max = query.cursor.createdAt;
      after = query.cursor.id;
    }
    const purges: PurgeSummary[] = [];
    let scanned = 0;
    let last: ListCursor | undefined;
    let exhausted = false;
    while (purges.length < query.limit && scanned < budget) {
      const want = Math.min(CHUNK, budget - scanned);
      const chunk = await entries(max, min, after, want);
      const verdicts = await judge(chunk, query, planBudget);
      let looked = 0;
      for (const verdict of verdicts) {
        last = chunk[looked];
        looked += 1;
        if (verdict) purges.push(verdict);
        if (purges.length >= query.limit) break;
      }
      scanned += looked;
      if (looked === chunk.length && chunk.length < want) {
        exhausted = true;
        break;
      }
      if (looked < chunk.length || !last) break;
      max = last.createdAt;
      after = last.id;
    }
    return { purges, ...(exhausted || !last ? {} : { nextCursor: encodeCursor(last) }) };
  };
}

function matchesRecord(status: PurgeStatus, query: ListQuery): boolean {
  if (query.states && !query.states.includes(status.state)) return false;
  if (query.cdns && !status.cdns.some((cdnId) => query.cdns?.includes(cdnId))) return false;
  return true;
}

export function summaryOf(status: PurgeStatus): PurgeSummary {
  const errorCodes = new Set<ErrorCode>();
  for (const batch of status.batches) {
    if (
      (batch.state === 'failed' || batch.state === 'timed_out' || batch.state === 'stale') &&
      batch.errorCode
    )
      errorCodes.add(batch.errorCode);
  }
  return {
    id: status.id,
    state: status.state,
    createdAt: status.createdAt,
    ...(status.finishedAt === undefined ? {} : { finishedAt: status.finishedAt }),
    ...(status.label === undefined ? {} : { label: status.label }),
    ...(status.replayOf === undefined ? {} : { replayOf: status.replayOf }),
    request: status.request,
    cdns: status.cdns,
    targets: status.targets,
    errorCodes: [...errorCodes],
  };
}
