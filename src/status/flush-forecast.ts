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

/** How much one take holds: take.lua's ARGV[4], ARGV[5] and ARGV[9]. */
export interface TakeBudget {
  maxItems: number;
  /** 0: no character limit. */
  maxChars: number;
  charsOf: 'path' | 'url';
}

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
  const members = inTakeOrder(pending).map((entry) => entry.member);
  // Purging everything covers whatever else is pending: one call takes it all.
  if (members.includes('a')) return [members];
  const calls: string[][] = [];
  let next = 0;
  while (next < members.length) {
    const picked: string[] = [];
    let chars = 0;
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
      picked.push(member);
      chars += charge;
    }
    calls.push(picked);
  }
  return calls;
}
