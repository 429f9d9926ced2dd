import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/** Coalescing: purges accepted within a CDN's window share its calls, on both CDNs, each status exact. */
describe('purges that arrive together', () => {
  let simulator: Simulator;
  let service: TestService;
  const submits = (cdn: 'vims' | 'quantil') =>
    simulator[cdn].requests.filter((r) => r.op === 'submit').length;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 50 }),
    });
    const window = { coalesce: { windowMs: 300 } };
    service = startTestService(
      testConfigInput(simulator.url, {}, [
        { ...VIMS_RIG.cdnEntry(simulator.url), ...window },
        { ...QUANTIL_RIG.cdnEntry(simulator.url), ...window },
      ]),
    );
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('share one call per CDN; a URL asked for twice while pending is sent once; every purge ends exact', async () => {
    const urls = Array.from({ length: 20 }, (_, i) => `https://www.example.com/story-${i}.html`);
    const before = { vims: submits('vims'), quantil: submits('quantil') };
    const accepted = await Promise.all(
      [...urls, urls[0] as string].map((url) => service.runtime.producer.enqueuePurge({ urls: [url] })),
    );
    const statuses = await Promise.all(accepted.map(({ id }) => service.waitForFinish(id)));
    expect(submits('vims') - before.vims).toBe(1);
    expect(submits('quantil') - before.quantil).toBe(1);
    expect(
      simulator.quantil.purges
        .at(-1)
        ?.items.map((item) => item.path)
        .sort(),
    ).toEqual([...urls].sort());
    for (const status of statuses) {
      expect(status.state).toBe('succeeded');
      expect(status.targets).toEqual({
        'vims-main': { total: 1, succeeded: 1, failed: 0, timedOut: 0, pending: 0 },
        'quantil-main': { total: 1, succeeded: 1, failed: 0, timedOut: 0, pending: 0 },
      });
      expect(status.batches.map((batch) => [batch.cdnId, batch.state, batch.share, batch.purges])).toEqual([
        ['quantil-main', 'succeeded', 1, 21],
        ['vims-main', 'succeeded', 1, 21],
      ]);
    }
  });

  it('sends a URL again for a new purge once its earlier call was made: the earlier one predates it', async () => {
    const url = 'https://www.example.com/updated-twice.html';
    const first = await service.runtime.producer.enqueuePurge({ urls: [url] });
    await vi.waitFor(
      async () => {
        const batches = (await service.runtime.store.get(first.id))?.batches ?? [];
        if (batches.length < 2 || batches.some((batch) => !batch.remoteId)) throw new Error('not sent yet');
      },
      { timeout: 5_000, interval: 10 },
    );
    const before = { vims: submits('vims'), quantil: submits('quantil') };
    const second = await service.runtime.producer.enqueuePurge({ urls: [url] });
    expect((await service.waitForFinish(second.id)).state).toBe('succeeded');
    expect(submits('vims') - before.vims).toBe(1);
    expect(submits('quantil') - before.quantil).toBe(1);
    const [a, b] = [await service.runtime.store.get(first.id), await service.runtime.store.get(second.id)];
    const ids = (status: typeof a) => status?.batches.map((batch) => batch.batchId) ?? [];
    expect(ids(a).some((id) => ids(b).includes(id))).toBe(false);
  });
});
