import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../src/providers/provider.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/** Daily quota pays for work the CDN took: a batch that ends before QUANTIL ever accepted it gives its share back. */
describe("a QUANTIL batch's quota charge", () => {
  let simulator: Simulator;
  let service: TestService;
  let provider: Provider;

  beforeAll(async () => {
    simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 30 }));
    service = startTestService(testConfigInput(simulator.url, {}, [QUANTIL_RIG.cdnEntry(simulator.url)]));
    const found = service.runtime.providers.get('quantil-main');
    if (!found) throw new Error('no provider');
    provider = found;
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  const used = () => service.runtime.quota.used(provider, 'urls', Date.now());
  const urls = (tag: string) =>
    Array.from({ length: 3 }, (_, i) => `https://www.example.com/${tag}-${i}.html`);

  it('is given back when QUANTIL refuses the batch for good', async () => {
    const before = await used();
    QUANTIL_RIG.sim(simulator).faults.inject('submit', { kind: 'status', status: 400, body: 'invalid url' });
    const { id } = await service.runtime.producer.enqueuePurge({ urls: urls('refused') });
    expect(await used()).toBe(before + 3);
    expect((await service.waitForFinish(id)).state).toBe('failed');
    expect(await used()).toBe(before);
  });

  it('is given back when every submit attempt failed without an answer', async () => {
    const before = await used();
    QUANTIL_RIG.sim(simulator).faults.inject('submit', { kind: 'status', status: 503 }, 4);
    const { id } = await service.runtime.producer.enqueuePurge({ urls: urls('unavailable') });
    const status = await service.waitForFinish(id);
    expect(status.batches[0]).toMatchObject({ state: 'failed', attempts: 4 });
    expect(await used()).toBe(before);
  });

  it('is kept once QUANTIL accepted the batch, whatever its task then did', async () => {
    const before = await used();
    const { id } = await service.runtime.producer.enqueuePurge({ urls: urls('accepted') });
    expect((await service.waitForFinish(id)).state).toBe('succeeded');
    expect(await used()).toBe(before + 3);
  });

  it('charges `all` as the dir-url per domain QUANTIL is sent, and gives it back when QUANTIL refuses it', async () => {
    const withDomains = startTestService(
      testConfigInput(simulator.url, {}, [
        { ...QUANTIL_RIG.cdnEntry(simulator.url), domains: ['www.example.com', 'img.example.com'] },
      ]),
    );
    try {
      const quantil = withDomains.runtime.providers.get('quantil-main') as Provider;
      const dirs = () => withDomains.runtime.quota.used(quantil, 'dirs', Date.now());
      const before = await dirs();
      QUANTIL_RIG.sim(simulator).faults.inject('submit', { kind: 'status', status: 400, body: 'refused' });
      const { id } = await withDomains.runtime.producer.enqueuePurge({ all: true, cdns: ['quantil-main'] });
      expect(await dirs()).toBe(before + 2);
      expect((await withDomains.waitForFinish(id)).state).toBe('failed');
      expect(await dirs()).toBe(before);
    } finally {
      await withDomains.close();
    }
  });
});
