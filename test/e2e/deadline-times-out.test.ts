import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

// Counted from acceptance, so it holds the flush's pickup, the take and the submit too: on a loaded 2-core
// machine those took more than the 400 ms this once was, and the batch timed out before it was ever sent.
const DEADLINE_MS = 2_000;

describe.each(RIGS)('a $provider purge that outlives its deadline', (rig) => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: 60_000 }));
    // The deadline comes from the per-CDN override, not the global policy (10 s in tests). No coalescing
    // window: it would spend part of the deadline before the submit.
    const entry = {
      ...rig.cdnEntry(simulator.url),
      coalesce: { windowMs: 0 },
      policy: { poll: { deadlineMs: DEADLINE_MS } },
    };
    service = startTestService(testConfigInput(simulator.url, {}, [entry]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('ends timed_out after polling until the deadline, with the last progress seen', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/slow.html'],
    });
    const status = await service.waitForFinish(id);
    const [batch] = status.batches;

    expect(status.state).toBe('timed_out');
    expect(batch?.state).toBe('timed_out');
    expect(batch?.errorCode).toBe('DEADLINE_EXCEEDED');
    expect(batch?.remoteId).toBeDefined();
    expect(batch?.progress).toBeGreaterThanOrEqual(0);
    expect(batch?.polls).toBeGreaterThanOrEqual(1);
    expect(batch?.error).toMatch(/deadline passed while the CDN task was still (pending|running)/);
    expect((batch?.finishedAt ?? 0) - (batch?.acceptedAt ?? 0)).toBeGreaterThanOrEqual(DEADLINE_MS);
  });

  it('ends timed_out without submitting again when the CDN cannot be reached before the deadline', async () => {
    const sim = rig.sim(simulator);
    const submitsBefore = sim.requests('submit').length;
    sim.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '30' });
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/late.html'],
    });
    const status = await service.waitForFinish(id);

    expect(status.batches[0]).toMatchObject({
      state: 'timed_out',
      attempts: 1,
      errorCode: 'DEADLINE_EXCEEDED',
    });
    expect(status.batches[0]?.error).toBe('deadline passed before the CDN accepted the purge');
    expect(sim.requests('submit').length - submitsBefore).toBe(1);
  });
});
