import { describe, expect, it } from 'vitest';
import {
  buildPattern,
  escapeRegex,
  mapTaskState,
  splitIntoBatches,
} from '../../src/providers/vims/mapping.ts';

const none = { urls: [], dirs: [] };

describe('VIMS mapping: targets to a purge pattern', () => {
  it('escapes every regex metacharacter so a URL matches only itself', () => {
    const escaped = escapeRegex('/a.b/c?d=1&e=(x)|[y]{2}*+^$\\');
    expect(escaped).toBe('\\/a\\.b\\/c\\?d=1&e=\\(x\\)\\|\\[y\\]\\{2\\}\\*\\+\\^\\$\\\\');
    expect(new RegExp(`^${escaped}$`).test('/a.b/c?d=1&e=(x)|[y]{2}*+^$\\')).toBe(true);
  });

  it('anchors one URL on its path and query, exact to the end', () => {
    const pattern = buildPattern({ ...none, urls: ['https://www.example.com/news/a.html?x=1'] }, 'path');
    expect(pattern).toBe('^\\/news\\/a\\.html\\?x=1$');
    const regex = new RegExp(pattern);
    expect(regex.test('/news/a.html?x=1')).toBe(true);
    expect(regex.test('/news/a.html?x=10')).toBe(false);
    expect(regex.test('/news/aXhtml?x=1')).toBe(false);
    expect(regex.test('/other/news/a.html?x=1')).toBe(false);
  });

  it('joins URLs into one alternation and dirs as prefixes', () => {
    const pattern = buildPattern(
      { urls: ['http://h/a.jpg', 'http://h/b.jpg'], dirs: ['http://h/news/'] },
      'path',
    );
    expect(pattern).toBe('^(?:(?:\\/a\\.jpg|\\/b\\.jpg)$|\\/news\\/)');
    const regex = new RegExp(pattern);
    expect(['/a.jpg', '/b.jpg', '/news/', '/news/x/y.html'].every((s) => regex.test(s))).toBe(true);
    expect(['/a.jpgx', '/c.jpg', '/newsroom'].some((s) => regex.test(s))).toBe(false);
  });

  it('matches the whole URL when the scope is url', () => {
    expect(buildPattern({ ...none, urls: ['https://h.example.com/a'] }, 'url')).toBe(
      '^https:\\/\\/h\\.example\\.com\\/a$',
    );
  });

  it('sends a given pattern as is and all as *', () => {
    expect(buildPattern({ ...none, pattern: '\\.jpg$' }, 'path')).toBe('\\.jpg$');
    expect(buildPattern({ ...none, all: true }, 'path')).toBe('*');
  });

  it('splits long URL lists so no pattern exceeds the bound, keeping every URL once', () => {
    const urls = Array.from({ length: 200 }, (_, i) => `https://www.example.com/articles/${i}/index.html`);
    const batches = splitIntoBatches({ urls, dirs: [] }, 'path', 500);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(buildPattern(batch, 'path').length).toBeLessThanOrEqual(500);
    expect(batches.flatMap((batch) => batch.urls)).toEqual(urls);
  });

  it('puts a pattern in a batch of its own and refuses a URL longer than any pattern', () => {
    const batches = splitIntoBatches({ urls: ['http://h/a'], dirs: [], pattern: 'x' }, 'path', 100);
    expect(batches).toEqual([
      { urls: [], dirs: [], pattern: 'x' },
      { urls: ['http://h/a'], dirs: [] },
    ]);
    expect(() => splitIntoBatches({ urls: [`http://h/${'a'.repeat(200)}`], dirs: [] }, 'path', 100)).toThrow(
      /too long for one VIMS pattern/,
    );
  });
});

describe('VIMS mapping: Celery task states', () => {
  it.each(['PENDING', 'pending'])('%s is pending', (status) => {
    expect(mapTaskState({ status, percentage: 0 })).toEqual({ state: 'pending', progress: 0 });
  });

  it.each(['RECEIVED', 'STARTED', 'RETRY', 'PROGRESS', 'started'])(
    '%s is running with its percentage',
    (status) => {
      expect(mapTaskState({ status, percentage: 40 })).toEqual({ state: 'running', progress: 40 });
    },
  );

  it('SUCCESS is succeeded at 100%', () => {
    expect(mapTaskState({ status: 'SUCCESS', percentage: 100 })).toEqual({
      state: 'succeeded',
      progress: 100,
    });
  });

  it.each(['FAILURE', 'REVOKED', 'REJECTED', 'Failure'])(
    '%s is failed with the output as reason',
    (status) => {
      const mapped = mapTaskState({ status, percentage: 100, output: "Command failed: ['output']" });
      expect(mapped).toMatchObject({
        state: 'failed',
        reason: `${status.toUpperCase()}: Command failed: ['output']`,
      });
    },
  );

  it('a failure without output still says which state it ended in', () => {
    expect(mapTaskState({ status: 'REVOKED', output: null })).toMatchObject({
      reason: 'task ended in state REVOKED',
    });
  });

  it('an unknown state is still running, with a note to log', () => {
    expect(mapTaskState({ status: 'WEIRD', percentage: '55' })).toEqual({
      state: 'running',
      progress: 55,
      note: 'unknown VIMS task state "WEIRD"',
    });
  });
});

describe('VIMS batch splitting at scale', () => {
  it('splits 10,000 URLs into nearly full batches, each URL once, every pattern within the bound', () => {
    const urls = Array.from(
      { length: 10_000 },
      (_, i) => `https://www.example.com/section/${i}/article.html?v=${i}`,
    );
    const batches = splitIntoBatches({ urls, dirs: [] }, 'path', 4000);
    expect(batches.flatMap((batch) => batch.urls)).toEqual(urls);
    for (const batch of batches) expect(buildPattern(batch, 'path').length).toBeLessThanOrEqual(4000);
    // Full batches: the bound is used, not wasted (each pattern is at least 90% of the maximum).
    for (const batch of batches.slice(0, -1))
      expect(buildPattern(batch, 'path').length).toBeGreaterThan(3600);
  });
});
