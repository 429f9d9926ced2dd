import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge routed to both VIMS and QUANTIL', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 100 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 200 }),
    });
    const input = testConfigInput(simulator.url, {}, [
      VIMS_RIG.cdnEntry(simulator.url),
      QUANTIL_RIG.cdnEntry(simulator.url),
    ]);
    input.routes = [
      { hosts: ['www.example.com'], cdns: ['vims-main', 'quantil-main'] },
      { hosts: ['*.static.example.com'], cdns: ['quantil-main'] },
    ];
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('reaches succeeded on both, each CDN getting exactly the URLs its routes cover', async () => {
    const shared = 'https://www.example.com/news/1.html';
    const quantilOnly = 'https://img.static.example.com/a.png?x=1&y=2';
    const { id, cdns } = await service.runtime.producer.enqueuePurge({ urls: [shared, quantilOnly] });
    expect(cdns).toEqual(['vims-main', 'quantil-main']);

    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    expect(status.batches.map((b) => [b.cdnId, b.state, b.items])).toEqual([
      ['quantil-main', 'succeeded', 2],
      ['vims-main', 'succeeded', 1],
    ]);
    expect(simulator.vims.tasks.map((t) => t.pattern)).toEqual(['^\\/news\\/1\\.html$']);
    expect(simulator.quantil.purges[0]?.items.map((item) => item.path).sort()).toEqual(
      [quantilOnly, shared].sort(),
    );
  });
});
