import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/**
 * `all` on QUANTIL is a dir-url per configured domain root. A coalesced batch holds `all` itself (it
 * supersedes whatever else was pending), so the submit must turn it into those dir-urls: found by the
 * dry-run work, where an `all` purge reached QUANTIL as a request with nothing in it and failed.
 */
describe('a QUANTIL purge of everything', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 20 }));
    service = startTestService(
      testConfigInput(simulator.url, {}, [
        { ...QUANTIL_RIG.cdnEntry(simulator.url), domains: ['www.example.com', 'img.example.com'] },
      ]),
    );
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('sends one dir-url per domain root, superseding a URL pending beside it, and succeeds', async () => {
    const url = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/a.html'] });
    const all = await service.runtime.producer.enqueuePurge({ all: true, cdns: ['quantil-main'] });

    expect((await service.waitForFinish(all.id)).state).toBe('succeeded');
    expect((await service.waitForFinish(url.id)).state).toBe('succeeded');
    const sent = simulator.quantil.purges.flatMap((purge) =>
      purge.items.map((item) => [item.path, item.isdir]),
    );
    expect(sent).toContainEqual(['http://www.example.com/', true]);
    expect(sent).toContainEqual(['http://img.example.com/', true]);
  });
});
