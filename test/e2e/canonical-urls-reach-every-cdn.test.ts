import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/** Every CDN is sent the one canonical spelling of each URL, decided at ingest. */
describe('canonical URLs across CDNs', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 50 }),
    });
    const cdns = [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)];
    const input = testConfigInput(simulator.url, {}, cdns);
    input.routes = [
      { hosts: ['www.example.com', 'xn--bcher-kva.example'], cdns: ['vims-main', 'quantil-main'] },
    ];
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('sends both CDNs the same percent-encoded, punycode, fragment-free URL and a slash-ended dir', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['http://BÜCHER.example/ü.html#reviews'],
      dirs: ['https://www.example.com/news'],
    });
    expect((await service.waitForFinish(id)).state).toBe('succeeded');
    expect(simulator.quantil.purges[0]?.items.map((item) => item.path).sort()).toEqual([
      'http://xn--bcher-kva.example/%C3%BC.html',
      'https://www.example.com/news/',
    ]);
    // VIMS matches on the path: the same encoded path, and the dir as a directory (no /newsletter).
    expect(simulator.vims.tasks.map((task) => task.pattern)).toEqual(['^(?:\\/%C3%BC\\.html$|\\/news\\/)']);
  });

  it('de-duplicates spellings of one URL and charges the daily quota once for it', async () => {
    const provider = service.runtime.providers.get('quantil-main');
    if (!provider) throw new Error('no provider');
    const before = await service.runtime.quota.used(provider, 'urls', Date.now());
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: [
        'https://www.example.com/dup.html',
        'https://WWW.EXAMPLE.COM/dup.html',
        'https://www.example.com:443/./dup.html#x',
      ],
    });
    const status = await service.waitForFinish(id);
    expect(status.batches.map((batch) => [batch.cdnId, batch.items])).toEqual([
      ['quantil-main', 1],
      ['vims-main', 1],
    ]);
    expect(await service.runtime.quota.used(provider, 'urls', Date.now())).toBe(before + 1);
  });

  it('refuses a control character with a 400-class error naming the index, writing nothing', async () => {
    const keys = await service.redis.keys(`${service.config.redis.prefix}:purge:*`);
    await expect(
      service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/ok.html', 'https://www.example.com/bad\u0001.html'],
      }),
    ).rejects.toMatchObject({
      code: 'REQUEST_INVALID',
      message: expect.stringMatching(/urls\[1\]: contains a control or whitespace character \(U\+0001\)/),
    });
    expect(await service.redis.keys(`${service.config.redis.prefix}:purge:*`)).toEqual(keys);
  });
});
