import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PurgeError } from '../../src/errors.ts';
import { MAX_PATTERN_LENGTH, type PurgeTarget } from '../../src/model/purge.ts';
import { canonicalUrl } from '../../src/model/url.ts';
import { buildPattern, PATTERN_OVERHEAD, splitIntoBatches } from '../../src/providers/vims/mapping.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { urlTail } from './arbitraries.ts';

/**
 * VIMS purges whatever its cached objects' names match: `pattern` is a plain, unanchored regular expression
 * (the VIMS doc's example is `"jpg"`), tested here with `RegExp.test`, as PCRE and JavaScript agree on
 * everything an escaped, anchored alternation uses. What it is matched against is inferred
 * (`patternScope`): the request target, as a Varnish ban on `req.url` sees it (`path`), or the whole URL
 * (`url`). Both are written down here from the URL itself, not with the mapping's own helper.
 */
type Scope = 'path' | 'url';

function subjectOf(url: string, scope: Scope): string {
  // What a client sends on the request line: everything after scheme and authority, `?` included.
  return scope === 'url' ? url : url.slice(new URL(url).origin.length);
}

const canonicalOf = (role: 'url' | 'dir') => (raw: string) => {
  const result = canonicalUrl(raw, role);
  return result.ok ? [result.value] : [];
};

const origin = fc.constantFrom('https://www.example.com', 'http://img.example.com:8080', 'https://[::1]');
const url = fc
  .tuple(origin, urlTail)
  .map(([base, tail]) => canonicalOf('url')(`${base}/${tail}`))
  .filter((urls) => urls.length === 1)
  .map((urls) => urls[0] as string);
const dir = fc
  .tuple(origin, fc.array(fc.stringMatching(/^[a-z.()+$|]{1,6}$/), { maxLength: 2 }))
  .map(([base, segments]) => `${base}/${segments.join('/')}`)
  .map((raw) => canonicalOf('dir')(raw)[0] as string);

/** A canonical purge target: duplicate-free, as ingest makes it. */
const target = fc
  .record({
    urls: fc.uniqueArray(url, { maxLength: 30 }),
    dirs: fc.uniqueArray(dir, { maxLength: 3 }),
  })
  .filter(({ urls, dirs }) => urls.length + dirs.length > 0);

const scope = fc.constantFrom<Scope>('path', 'url');
const maxPatternLength = fc.oneof(fc.constant(4000), fc.integer({ min: 64, max: 400 }));

/** A caller's own pattern, as long as ingest lets one be (MAX_PATTERN_LENGTH). */
const givenPattern = fc
  .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: MAX_PATTERN_LENGTH }))
  .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

/** URLs close to a batch's: one character more, less or different, where a bad escape would let them match. */
function nearMisses(subject: string): string[] {
  const misses = [`${subject}x`, `${subject}/`, subject.slice(0, -1), `/x${subject}`];
  for (let index = 0; index < subject.length; index++) {
    if ('./?()+*$|[]{}^\\'.includes(subject.charAt(index))) {
      misses.push(`${subject.slice(0, index)}Z${subject.slice(index + 1)}`);
    }
  }
  return misses;
}

/** Whether VIMS purging `batch` would purge an object named `subject`, by what the batch asked for. */
function covers(batch: PurgeTarget, scopeOf: Scope, subject: string): boolean {
  return (
    batch.urls.some((u) => subjectOf(u, scopeOf) === subject) ||
    batch.dirs.some((d) => subject.startsWith(subjectOf(d, scopeOf)))
  );
}

function checkBatch(batch: PurgeTarget, scopeOf: Scope, max: number, outsiders: readonly string[]): void {
  const pattern = buildPattern(batch, scopeOf);
  expect(pattern.length, pattern).toBeLessThanOrEqual(max);
  if (batch.pattern !== undefined || batch.all) return;
  const regex = new RegExp(pattern);
  for (const u of batch.urls) expect(regex.test(subjectOf(u, scopeOf)), `${pattern} vs ${u}`).toBe(true);
  for (const d of batch.dirs) {
    expect(regex.test(subjectOf(d, scopeOf)), `${pattern} vs ${d}`).toBe(true);
    expect(regex.test(`${subjectOf(d, scopeOf)}deeper/page.html?x=1`), `${pattern} under ${d}`).toBe(true);
  }
  const others = [
    ...outsiders.map((u) => subjectOf(u, scopeOf)),
    ...batch.urls.flatMap((u) => nearMisses(subjectOf(u, scopeOf))),
  ];
  for (const other of others) {
    if (covers(batch, scopeOf, other)) continue;
    expect(regex.test(other), `${pattern} must not match ${other}`).toBe(false);
  }
}

describe('VIMS patterns (property)', () => {
  it('match every URL and dir of their batch, nothing else, and stay within maxPatternLength', () => {
    fc.assert(
      fc.property(
        target,
        scope,
        maxPatternLength,
        fc.array(url, { maxLength: 10 }),
        (t, s, max, outsiders) => {
          let batches: PurgeTarget[];
          try {
            batches = splitIntoBatches(t, s, max);
          } catch (error) {
            // Refused only for an item no pattern of `max` characters could be sure to hold.
            expect(error).toBeInstanceOf(PurgeError);
            expect((error as PurgeError).code).toBe('REQUEST_INVALID');
            const alone = [...t.urls, ...t.dirs].map((item) =>
              buildPattern(
                { urls: [], dirs: [], ...(t.urls.includes(item) ? { urls: [item] } : { dirs: [item] }) },
                s,
              ),
            );
            expect(alone.some((pattern) => pattern.length > max - PATTERN_OVERHEAD)).toBe(true);
            return;
          }
          expect(batches.flatMap((b) => b.urls).sort()).toEqual([...t.urls].sort());
          expect(batches.flatMap((b) => b.dirs).sort()).toEqual([...t.dirs].sort());
          for (const batch of batches) checkBatch(batch, s, max, outsiders);
        },
      ),
      { numRuns: 800 },
    );
  });

  it('a given pattern is sent as given, and only when it fits maxPatternLength', () => {
    fc.assert(
      fc.property(givenPattern, scope, maxPatternLength, (pattern, s, max) => {
        let batches: PurgeTarget[];
        try {
          batches = splitIntoBatches({ urls: [], dirs: [], pattern }, s, max);
        } catch (error) {
          expect((error as PurgeError).code).toBe('REQUEST_INVALID');
          expect(pattern.length).toBeGreaterThan(max);
          return;
        }
        expect(batches.map((batch) => buildPattern(batch, s))).toEqual([pattern]);
        expect(pattern.length).toBeLessThanOrEqual(max);
      }),
      { numRuns: 500 },
    );
  });
});

describe('VIMS patterns of the batches a flush takes (property)', () => {
  let redis: Redis;
  let store: StatusStore;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix: uniquePrefix('vims-take'), ttlSeconds: 600 });
  });
  afterAll(() => {
    redis?.disconnect();
  });

  it('stay within maxPatternLength and match every URL they carry, for path and url scope', async () => {
    await fc.assert(
      fc.asyncProperty(target, scope, maxPatternLength, async (t, s, max) => {
        // Ingest refuses what no pattern can hold (plan runs the provider's own split), so only that is taken.
        try {
          splitIntoBatches(t, s, max);
        } catch {
          return;
        }
        const cdnId = `vims-${randomUUID()}`;
        const now = Date.now();
        await store.accept({
          purgeId: randomUUID(),
          createdAt: now,
          request: { urls: t.urls.length, dirs: t.dirs.length },
          work: [{ cdnId, target: t }],
        });
        const taken: PurgeTarget[] = [];
        for (let flush = 0; flush <= t.urls.length + t.dirs.length; flush++) {
          // As the VIMS provider declares its budget (capabilities) and the batch processor passes it on.
          const result = await store.take({
            cdnId,
            flushId: `flush-${flush}`,
            batchId: `${cdnId}-${flush}`,
            maxItems: Number.POSITIVE_INFINITY,
            maxChars: max - PATTERN_OVERHEAD,
            charsOf: s,
            deadlineMs: 60_000,
            now,
          });
          if (result.batchId === undefined) break;
          taken.push(result.batch.target);
        }
        expect(taken.flatMap((b) => b.urls).sort()).toEqual([...t.urls].sort());
        expect(taken.flatMap((b) => b.dirs).sort()).toEqual([...t.dirs].sort());
        for (const batch of taken) checkBatch(batch, s, max, []);
      }),
      { numRuns: 200 },
    );
  });
});
