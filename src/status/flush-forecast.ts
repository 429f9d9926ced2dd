import { PRIORITIES, type Priority } from '../model/purge.ts';

/**
 * Which calls a CDN's flushes would make of a pending set, without taking anything: take.lua's choice,
 * replayed over a copy of the set. Used by dry runs. It must choose exactly as take.lua does; a test runs
 * both over the same sets (test/redis-layout/flush-forecast-matches-take.test.ts), so a change to one
 * without the other fails there.
 */

/**
 * A pending-set member (`u <url>`, `d <dir>`, `p <regex>`, `a`), when it was first accepted (its score), and
 * the lane it waits in (normal if unset).
 */
export interface PendingEntry {
  member: string;
  acceptedAt: number;
  lane?: Priority;
}

/** How much one take holds: take.lua's ARGV[4], ARGV[5], ARGV[9] and ARGV[13]. */
export interface TakeBudget {
  maxItems: number;
  /** 0: no character limit. */
  maxChars: number;
  charsOf: 'path' | 'url';
  /** Most dirs, and most tags, one call takes (0 or absent: only maxItems). */
  maxDirs?: number;
  maxTags?: number;
}

/** take.lua's MAX_PASSED_OVER: members of a capped kind one take passes over before it stops looking. */
const MAX_PASSED_OVER = 1000;

/** The order take.lua reads the lanes in (urgent, normal, bulk), each as ZRANGE does: by score, then bytes. */
export function inTakeOrder(entries: readonly PendingEntry[]): PendingEntry[] {
  const rank = (entry: PendingEntry) => PRIORITIES.indexOf(entry.lane ?? 'normal');
  const keyed = entries.map((entry) => ({ entry, rank: rank(entry), bytes: Buffer.from(entry.member) }));
  keyed.sort(
    (a, b) => a.rank - b.rank || a.entry.acceptedAt - b.entry.acceptedAt || Buffer.compare(a.bytes, b.bytes),
  );
  return keyed.map(({ entry }) => entry);
}

/** take.lua's `escapedLength`: bytes, plus one for each regex special it will escape. */
function escapedLength(text: string): number {
  const specials = text.match(/[\^$.*+?()[\]{}|/\\]/g)?.length ?? 0;
  return Buffer.byteLength(text) + specials;
}

/** take.lua's `cost`: a target's share of the character limit, with its separator. */
export function takeCost(member: string, charsOf: 'path' | 'url'): number {
  let value = member.slice(2);
  if (charsOf === 'path') {
    const host = value.indexOf('://');
    const path = host >= 0 ? value.indexOf('/', host + 3) : -1;
    if (path >= 0) value = value.slice(path);
  }
  return escapedLength(value) + 1;
}

/**
 * The members each flush would take, call by call, until nothing is left: `all` takes everything at once,
 * a pattern goes alone, and otherwise the oldest targets that fit the budget.
 */
export function forecastTakes(pending: readonly PendingEntry[], budget: TakeBudget): string[][] {
  let members = inTakeOrder(pending).map((entry) => entry.member);
  // Purging everything covers whatever else is pending: one call takes it all.
  if (members.includes('a')) return [members];
  const caps: Record<string, number> = { d: budget.maxDirs ?? 0, t: budget.maxTags ?? 0 };
  const calls: string[][] = [];
  while (members.length > 0) {
    const picked: string[] = [];
    const left: string[] = [];
    const taken: Record<string, number> = { d: 0, t: 0 };
    let chars = 0;
    let passedOver = 0;
    let next = 0;
    for (; next < members.length; next++) {
      const member = members[next] as string;
      if (member.startsWith('p ')) {
        if (picked.length === 0) {
          picked.push(member);
          next++;
        }
        break;
      }
      const charge = takeCost(member, budget.charsOf);
      if (picked.length >= budget.maxItems) break;
      if (budget.maxChars > 0 && picked.length > 0 && chars + charge > budget.maxChars) break;
      const kind = member.slice(0, 1);
      const cap = caps[kind];
      if (cap !== undefined && cap > 0 && (taken[kind] ?? 0) >= cap) {
        left.push(member);
        passedOver += 1;
        if (passedOver >= MAX_PASSED_OVER) {
          next++;
          break;
        }
        continue;
      }
      if (cap !== undefined) taken[kind] = (taken[kind] ?? 0) + 1;
      picked.push(member);
      chars += charge;
    }
    calls.push(picked);
    members = [...left, ...members.slice(next)];
  }
  return calls;
}
