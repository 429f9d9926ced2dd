import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';

/** One sample's value from Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/**
 * Each CDN entry ends its purges one way: VIMS succeeds, or fails a task naming `broken`; a VIMS entry with a
 * wrong token is refused (401); QUANTIL's account has no quota left at the CDN (403 QuotaExceeded); a slow
 * VIMS outlives its deadline.
 */
describe('purge_worker_purges_finished_total', () => {
  let simulator: Simulator;
  let slow: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20, failMarker: 'broken' }),
      quantil: {
        ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }).quantil,
        dailyQuota: { files: 0, dirs: 0 },
      },
    });
    slow = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 600_000 }));
    api = await startTestApi(
      simulator.url,
      {
        cdns: [
          VIMS_RIG.cdnEntry(simulator.url),
          { ...VIMS_RIG.cdnEntry(simulator.url, false), id: 'vims-refusing' },
          QUANTIL_RIG.cdnEntry(simulator.url),
          { ...VIMS_RIG.cdnEntry(slow.url), id: 'vims-slow', policy: { poll: { deadlineMs: 400 } } },
        ],
        routes: [],
      },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
    await slow.close();
  });

  it('counts each ended purge once, by state and the class of why it did not succeed', async () => {
    const { producer } = api.service.runtime;
    const purge = (cdn: string, name: string) =>
      producer.enqueuePurge({ urls: [`https://www.example.com/${name}`], cdns: [cdn] });
    const ends = await Promise.all([
      purge('vims-main', 'fine.html'),
      purge('vims-refusing', 'refused.html'),
      purge('quantil-main', 'over-quota.html'),
      purge('vims-slow', 'slow.html'),
    ]);
    const statuses = await Promise.all(ends.map(({ id }) => api.service.waitForFinish(id)));
    expect(statuses.map((status) => [status.state, status.batches[0]?.errorCode])).toEqual([
      ['succeeded', undefined],
      ['failed', 'CDN_AUTH'],
      ['failed', 'QUOTA_EXCEEDED'],
      ['timed_out', 'DEADLINE_EXCEEDED'],
    ]);
    // Apart, so its failure does not ride with the fine purge's call.
    await api.service.waitForFinish((await purge('vims-main', 'broken.html')).id);

    const expected = [
      [{ state: 'succeeded', reason: 'none' }, 1],
      [{ state: 'failed', reason: 'cdn_refused' }, 1],
      [{ state: 'failed', reason: 'quota' }, 1],
      [{ state: 'failed', reason: 'cdn_failed' }, 1],
      [{ state: 'timed_out', reason: 'timed_out' }, 1],
    ] as const;
    // The counter follows the transition that ends the purge, a moment after the record says so.
    const text = await vi.waitFor(
      async () => {
        const body = (await api.app.inject({ url: '/metrics' })).body;
        for (const [labels, value] of expected) {
          if (sample(body, 'purge_worker_purges_finished_total', labels) !== value)
            throw new Error(`${JSON.stringify(labels)} not yet ${value}`);
        }
        return body;
      },
      { timeout: 10_000, interval: 50 },
    );
    const total = text
      .split('\n')
      .filter((line) => line.startsWith('purge_worker_purges_finished_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
    expect(total).toBe(5);
  });
});
