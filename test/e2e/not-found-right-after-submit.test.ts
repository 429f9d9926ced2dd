import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS, type SimHandle } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

// Wide enough that four quick polls fit in it on a loaded machine (it held 400 ms once, under load, and failed).
const GRACE_MS = 1_500;

/** A CDN may not know a task it has just accepted (a replica not caught up yet): a 404 then is not final. */
describe.each(RIGS)('a $provider task the CDN does not know yet', (rig) => {
  let simulator: Simulator;
  let sim: SimHandle;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 100 }));
    sim = rig.sim(simulator);
    const entry = { ...rig.cdnEntry(simulator.url), policy: { poll: { notFoundGraceMs: GRACE_MS } } };
    service = startTestService(testConfigInput(simulator.url, {}, [entry]));
  });
  afterEach(() => sim.faults.clear());
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('is polled again while the grace period after the submit lasts, and then succeeds', async () => {
    // Four answers cover at least two polls: VIMS asks its other task path after a 404 too.
    sim.faults.inject('status', { kind: 'status', status: 404, body: 'not found' }, 4);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/replica-lag.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(status.batches[0]?.polls).toBeGreaterThanOrEqual(3);
    expect(sim.faults.pending('status')).toBe(0);
  });

  it('fails the batch once the grace period is over and the CDN still does not know the task', async () => {
    sim.faults.inject('status', { kind: 'status', status: 404, body: 'not found' }, 10_000);
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/never-there.html'],
    });
    const status = await service.waitForFinish(id);
    const [batch] = status.batches;

    expect(batch).toMatchObject({ state: 'failed', attempts: 1 });
    expect(batch?.error).toMatch(/^status check failed: .*HTTP 404/);
    expect((batch?.finishedAt ?? 0) - (batch?.submittedAt ?? 0)).toBeGreaterThanOrEqual(GRACE_MS);
  });
});
