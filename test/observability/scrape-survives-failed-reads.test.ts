import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRedisGauges } from '../../src/observability/read-gauge.ts';

describe('a scrape whose Redis reads partly fail', () => {
  it('still renders everything else, leaves the failed gauge out and counts the failure', async () => {
    const registry = new Registry();
    new Counter({ name: 'purge_worker_purges_accepted_total', help: 'accepted', registers: [registry] }).inc(
      3,
    );
    const gauges = createRedisGauges(registry);
    gauges.add({
      name: 'purge_worker_ok_gauge',
      help: 'ok',
      labelNames: ['queue'],
      read: async () => [[{ queue: 'q' }, 7]],
    });
    gauges.add({
      name: 'purge_worker_refused_gauge',
      help: 'refused',
      labelNames: ['queue'],
      read: async () => {
        throw new Error("NOPERM this user has no permissions to run the 'client|list' command");
      },
    });
    // A second module's gauges on the same registry share the one error counter.
    createRedisGauges(registry).add({
      name: 'purge_worker_other_gauge',
      help: 'other',
      labelNames: [],
      read: () => [[{}, 1]],
    });

    const text = await registry.metrics();
    expect(text).toContain('purge_worker_purges_accepted_total 3');
    expect(text).toContain('purge_worker_ok_gauge{queue="q"} 7');
    expect(text).toContain('purge_worker_other_gauge 1');
    expect(text).not.toMatch(/^purge_worker_refused_gauge\{/m);
    // Counted as it failed: the counter was already written for this scrape, so the next one shows it.
    expect(await registry.metrics()).toContain(
      'purge_worker_scrape_errors_total{gauge="purge_worker_refused_gauge"} 1',
    );
  });

  it('keeps every series in two scrapes that overlap', async () => {
    const registry = new Registry();
    let calls = 0;
    createRedisGauges(registry).add({
      name: 'purge_worker_slow_gauge',
      help: 'slow',
      labelNames: ['queue'],
      // The first read answers after the second has started: a reset between them would drop series.
      read: () =>
        new Promise((resolve) => {
          const delay = calls++ === 0 ? 30 : 0;
          setTimeout(
            () =>
              resolve([
                [{ queue: 'a' }, 1],
                [{ queue: 'b' }, 2],
              ]),
            delay,
          );
        }),
    });
    const [first, second] = await Promise.all([registry.metrics(), registry.metrics()]);
    for (const text of [first, second]) {
      expect(text).toContain('purge_worker_slow_gauge{queue="a"} 1');
      expect(text).toContain('purge_worker_slow_gauge{queue="b"} 2');
    }
  });
});
