import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { sample, series } from '../harness/prometheus-text.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('quota and build info on a scrape', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }),
    });
    api = await startTestApi(
      simulator.url,
      { cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)] },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const scrape = async () => (await api.app.inject({ url: '/metrics' })).body;
  const quantil = { cdn: 'quantil-main' };

  it("shows QUANTIL's daily quota left after a purge, per CDN entry and kind, and no account name", async () => {
    const before = await scrape();
    expect(sample(before, 'purge_worker_quota_limit', { ...quantil, kind: 'urls' })).toBe(5000);
    expect(sample(before, 'purge_worker_quota_limit', { ...quantil, kind: 'dirs' })).toBe(500);
    expect(sample(before, 'purge_worker_quota_remaining', { ...quantil, kind: 'urls' })).toBe(5000);

    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/q1.html', 'https://www.example.com/q2.html'],
      dirs: ['https://www.example.com/section/'],
      cdns: ['quantil-main'],
    });
    expect((await api.service.waitForFinish(id)).state).toBe('succeeded');

    const after = await scrape();
    expect(sample(after, 'purge_worker_quota_remaining', { ...quantil, kind: 'urls' })).toBe(4998);
    expect(sample(after, 'purge_worker_quota_remaining', { ...quantil, kind: 'dirs' })).toBe(499);
    // VIMS has no daily quota: no series for it, rather than a made-up one.
    expect(series(after, 'purge_worker_quota_remaining').map(({ labels }) => labels.cdn)).toEqual([
      'quantil-main',
      'quantil-main',
    ]);
    // The gauges name the CDN entry only: no label anywhere in the scrape carries the account's user name.
    const user = String(QUANTIL_RIG.cdnEntry(simulator.url).user);
    expect(after).not.toMatch(new RegExp(`"${user}"`));
  });

  it('says which build and Node.js each process runs', async () => {
    const text = await scrape();
    expect(series(text, 'purge_worker_build_info')).toEqual([
      { labels: { version, node: process.version }, value: 1 },
    ]);
  });
});
