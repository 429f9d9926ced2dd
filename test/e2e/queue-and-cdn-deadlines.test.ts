import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const url = (name: string) => `https://www.example.com/deadlines/${name}.html`;

/**
 * Time waiting in our queue and time at the CDN have deadlines of their own: a backlog does not eat the
 * CDN's time, and a batch stuck in the queue says so.
 */
describe('the queue deadline and the poll deadline', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function rig(policy: Record<string, unknown>, entry: Record<string, unknown>) {
    const simulator: Simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 300 }));
    const input = testConfigInput(simulator.url, {}, [{ ...QUANTIL_RIG.cdnEntry(simulator.url), ...entry }]);
    const service: TestService = startTestService({
      ...input,
      policy: { ...(input.policy as Record<string, unknown>), ...policy },
    });
    cleanups.push(async () => {
      await service.close();
      await simulator.close();
    });
    return service;
  }

  it('counts the poll deadline from the CDN accepting the batch, not from the purge waiting before it', async () => {
    // The purge waits 1.5 s for its window, longer than the whole poll deadline: only the CDN's own time counts.
    const service = await rig(
      {
        queueDeadlineMs: 30_000,
        poll: { initialIntervalMs: 20, maxIntervalMs: 100, jitter: 0, deadlineMs: 1_000 },
      },
      { coalesce: { windowMs: 1_500 } },
    );
    const { id } = await service.runtime.producer.enqueuePurge({ urls: [url('waited')] });

    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    const batch = status.batches[0];
    // Its deadline moved when the CDN took it: a second after the submit, not after the acceptance.
    expect(batch?.deadlineAt).toBe((batch?.submittedAt ?? 0) + 1_000);
    expect((batch?.submittedAt ?? 0) - (batch?.acceptedAt ?? 0)).toBeGreaterThanOrEqual(1_000);
  });

  it("ends a batch past its lane's queue deadline timed_out, saying it never reached the CDN", async () => {
    // Bulk waits its 1.5 s window; its lane allows 300 ms in the queue.
    const service = await rig(
      { lanes: { bulk: { queueDeadlineMs: 300 } } },
      { coalesce: { windowMs: 0, bulkWindowMs: 1_500 } },
    );
    const bulk = await service.runtime.producer.enqueuePurge({ urls: [url('bulk')], priority: 'bulk' });

    const late = await service.waitForFinish(bulk.id);
    expect(late.state).toBe('timed_out');
    expect(late.batches[0]?.error).toBe(
      'queue deadline passed (policy.queueDeadlineMs) before the CDN accepted the purge',
    );
    expect(late.batches[0]?.errorCode).toBe('DEADLINE_EXCEEDED');
    // The normal lane keeps the policy's deadlines (and no window here): its purge goes on as usual.
    const normal = await service.runtime.producer.enqueuePurge({ urls: [url('normal')] });
    expect((await service.waitForFinish(normal.id)).state).toBe('succeeded');
  });
});
