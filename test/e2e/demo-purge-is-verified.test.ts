import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderStatus } from '../../src/cli/render.ts';
import { DEFAULT_QUANTIL_ACCOUNT } from '../../src/simulator/quantil.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/** examples/demo.json as shipped, pointed at this test's simulator, Redis and free ports. */
function demoConfig(simulatorUrl: string) {
  const demo = JSON.parse(readFileSync(new URL('../../examples/demo.json', import.meta.url), 'utf8'));
  const cdns = demo.cdns.map((cdn: Record<string, unknown>) => ({ ...cdn, baseUrl: simulatorUrl }));
  const base = testConfigInput(simulatorUrl, {}, cdns);
  return {
    ...demo,
    cdns,
    redis: base.redis,
    api: { ...demo.api, port: 0 },
    metrics: base.metrics,
    log: base.log,
  };
}

describe("the demo's purge", () => {
  let sim: Simulator;
  let service: TestService;
  beforeAll(async () => {
    // As `npm run simulator` starts it: two edges per CDN, the VIMS ones in its services listing.
    sim = await startSimulator({
      vims: { tokens: ['sk_live_demo'], taskDurationMs: 100 },
      quantil: { accounts: [DEFAULT_QUANTIL_ACCOUNT], taskDurationMs: 100 },
      edges: { count: 2 },
    });
    service = startTestService(demoConfig(sim.url));
  });
  afterAll(async () => {
    await service?.close();
    await sim?.close();
  });

  it('is verified at every VIMS edge, and the CLI says so', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/news/today.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status).toMatchObject({
      state: 'succeeded',
      verified: true,
      verification: { 'vims-demo': 'fresh' },
    });
    const vims = status.batches.find((batch) => batch.cdnId === 'vims-demo');
    expect(vims?.verification).toMatchObject({
      state: 'fresh',
      counts: { fresh: 2, stale: 0, unverified: 0 },
    });
    const lines = renderStatus(status, false);
    expect(lines[0]).toBe(`purge ${id}: succeeded, verified at the edges`);
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {4}edges fresh; 2 fresh, 0 stale, 0 unverified; 2 edge\(s\); round 1; fresh /),
    );
  });
});
