import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/server.ts';
import { RIGS } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

// Counted from acceptance, so it holds the flush's pickup, the take and the submit too: on a loaded 2-core
// machine those took more than the 400 ms this once was, and the batch timed out before it was ever sent.
const DEADLINE_MS = 2_000;
const TASK_MS = 60_000;
// From the deadline on, the CDN's clock is this far ahead: the task jumps from pending (0%, its first tenth)
// to half done, so only the poll that meets the deadline can have seen that progress.
const JUMP_MS = TASK_MS / 2;

describe.each(RIGS)('a $provider purge that outlives its deadline', (rig) => {
  let simulator: Simulator;
  let service: TestService;
  let jumpAt = Number.POSITIVE_INFINITY;

  beforeAll(async () => {
    const cdnClock = () => Date.now() + (Date.now() >= jumpAt ? JUMP_MS : 0);
    const options = Object.fromEntries(
      Object.entries(rig.simulatorOptions({ taskDurationMs: TASK_MS })).map(([name, provider]) => [
        name,
        { ...provider, now: cdnClock },
      ]),
    ) as SimulatorOptions;
    simulator = await startSimulator(options);
    // The deadline comes from the per-CDN override, not the global policy (10 s in tests). No coalescing
    // window: it would spend part of the deadline before the submit. A submit that fails is retried 10 s on,
    // past the deadline.
    const entry = {
      ...rig.cdnEntry(simulator.url),
      coalesce: { windowMs: 0 },
      policy: {
        poll: { deadlineMs: DEADLINE_MS },
        submit: { attempts: 10, initialIntervalMs: 10_000, maxIntervalMs: 10_000 },
      },
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
    // The batch's deadline runs from when its target was accepted: the purge's creation.
    jumpAt = ((await service.runtime.store.get(id)) as PurgeStatus).createdAt + DEADLINE_MS;
    const status = await service.waitForFinish(id);
    jumpAt = Number.POSITIVE_INFINITY;
    const [batch] = status.batches;

    expect(status.state).toBe('timed_out');
    expect(batch?.state).toBe('timed_out');
    expect(batch?.errorCode).toBe('DEADLINE_EXCEEDED');
    expect(batch?.remoteId).toBeDefined();
    expect(batch?.polls).toBeGreaterThanOrEqual(2);
    // Every earlier poll saw 0%; the last one, at the deadline, about half (more only if it came late).
    expect(batch?.progress).toBeGreaterThanOrEqual(45);
    expect(batch?.progress).toBeLessThan(100);
    const said =
      /^poll deadline passed \(policy\.poll\.deadlineMs, from the CDN accepting it\) while the CDN task was still running at ([\d.]+)%$/.exec(
        batch?.error ?? '',
      );
    expect(Number(said?.[1])).toBe(batch?.progress);
    expect((batch?.finishedAt ?? 0) - (batch?.acceptedAt ?? 0)).toBeGreaterThanOrEqual(DEADLINE_MS);
  });

  it.each([
    ['cannot be reached (the connection is reset)', { kind: 'reset' } as const],
    ['asks us to wait (429, Retry-After: 30)', { kind: 'status', status: 429, retryAfter: '30' } as const],
  ])('ends timed_out at the deadline without submitting again when the CDN %s past it', async (_, fault) => {
    const sim = rig.sim(simulator);
    const submitsBefore = sim.requests('submit').length;
    sim.faults.inject('submit', fault, 100);
    try {
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: [`https://www.example.com/late-${fault.kind}.html`],
      });
      const status = await service.waitForFinish(id);

      expect(status.batches[0]).toMatchObject({
        state: 'timed_out',
        attempts: 1,
        errorCode: 'DEADLINE_EXCEEDED',
      });
      expect(status.batches[0]?.error).toBe(
        'queue deadline passed (policy.queueDeadlineMs) before the CDN accepted the purge',
      );
      expect(sim.requests('submit').length - submitsBefore).toBe(1);
      // Ended at the deadline, not when the retry (10 s, or the 30 s asked for) would have been due.
      const { acceptedAt = 0, finishedAt = 0 } = status.batches[0] ?? {};
      expect(finishedAt - acceptedAt).toBeGreaterThanOrEqual(DEADLINE_MS);
      expect(finishedAt - acceptedAt).toBeLessThan(DEADLINE_MS + 5_000);
    } finally {
      sim.faults.clear();
    }
  });
});
