import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { VimsOptions } from '../../src/simulator/vims.ts';
import { createPollDurations } from '../../src/status/poll-durations.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Test-sized timings, but room for a wait as long as a task: what lets learning show. */
const POLL = { initialIntervalMs: 20, maxIntervalMs: 2_000, jitter: 0, deadlineMs: 10_000 };

async function rig(vims: VimsOptions, poll: Record<string, unknown> = {}) {
  const simulator: Simulator = await startSimulator({
    vims: { ...VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }).vims, ...vims },
  });
  const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
  const service: TestService = startTestService({
    ...input,
    policy: { ...input.policy, poll: { ...POLL, ...poll } },
  });
  cleanups.push(async () => {
    await service.close();
    await simulator.close();
  });
  const purge = async (path: string) => {
    const { id } = await service.runtime.producer.enqueuePurge({ urls: [`https://www.example.com/${path}`] });
    return service.waitForFinish(id);
  };
  /** Each poll's time after its task's submit, per task, in the order the CDN saw them. */
  const pollsAfterSubmit = () => {
    const requests = simulator.vims.requests;
    const submits = requests.filter((r) => r.op === 'submit').map((r) => r.at);
    return submits.map((at, i) =>
      requests
        .filter((r) => r.op === 'status' && r.at > at && r.at < (submits[i + 1] ?? Number.POSITIVE_INFINITY))
        .map((r) => r.at - at),
    );
  };
  const store = { redis: service.redis, prefix: service.config.redis.prefix, cdnId: VIMS_RIG.cdnId };
  const durations = createPollDurations(store);
  /** What the workers learnt, read afresh (the service's own reads are cached). */
  const learnt = () => createPollDurations(store).prior();
  return { simulator, service, purge, pollsAfterSubmit, durations, learnt };
}

describe('adaptive polling in the pipeline', () => {
  it('learns how long the CDN’s tasks take, for every worker to read', async () => {
    const { purge, learnt } = await rig({ taskDurationMs: 400 });
    expect((await purge('learnt.html')).state).toBe('succeeded');
    // Written a moment after the batch ends, with whatever else ended meanwhile.
    await expect.poll(async () => (await learnt())?.samples).toBe(1);
    const prior = await learnt();
    // 400 ms, to within the polls around its end (and a bucket's width).
    expect(prior?.quantileAfter(0, 0.5)).toBeGreaterThan(300);
    expect(prior?.quantileAfter(0, 0.5)).toBeLessThan(600);
  });

  it('waits for what the CDN’s tasks took before its first poll when they report no progress', async () => {
    const { purge, pollsAfterSubmit, durations } = await rig({
      taskDurationMs: 1_500,
      progressCurve: 'none',
    });
    await Promise.all(Array.from({ length: 10 }, () => durations.record(1_500)));
    expect((await purge('slow-cdn.html')).state).toBe('succeeded');
    const [polls] = pollsAfterSubmit();
    // Cold, the first poll comes after the initial interval (20 ms); half the time by which 2% had ended here.
    expect(polls?.[0]).toBeGreaterThanOrEqual(600);
    expect(polls?.length).toBeLessThanOrEqual(6);
  });

  it('aims at the end its progress predicts: a few polls for a task that reports it', async () => {
    const { purge, pollsAfterSubmit, service } = await rig({ taskDurationMs: 3_000 });
    const finished = await purge('linear.html');
    expect(finished.state).toBe('succeeded');
    const [polls = []] = pollsAfterSubmit();
    expect(polls.at(-1)).toBeGreaterThanOrEqual(3_000);
    // The first tenth of a task shows 0% (the simulator's PENDING), polled cold from 20 ms up. From the first
    // poll that saw progress: two polls draw the line, one aims at the end it predicts and finds the task
    // done, or falls short and one more does. Backoff from 20 ms by 1.5x to 2 s would poll 7 times from there.
    // Counted from the batch's own poll log, not by time: a loaded machine shifts when the cold polls land.
    const batchId = finished.batches[0]?.batchId ?? '';
    const log = (await service.runtime.store.pollLogs([batchId])).get(batchId) ?? [];
    const firstProgress = log.findIndex((entry) => (entry.progress ?? 0) > 0);
    expect(firstProgress).toBeGreaterThanOrEqual(0);
    expect(log.length - firstProgress).toBeLessThanOrEqual(5);
    // And fewer polls in all than that backoff's 11 over the task.
    expect(polls.length).toBeLessThanOrEqual(9);
  });

  it('polls on the plain backoff with adaptive: false, whatever it knew', async () => {
    const { purge, pollsAfterSubmit, durations, learnt } = await rig(
      { taskDurationMs: 600, progressCurve: 'none' },
      { adaptive: false },
    );
    await Promise.all(Array.from({ length: 10 }, () => durations.record(600)));
    expect((await purge('plain.html')).state).toBe('succeeded');
    const [polls = []] = pollsAfterSubmit();
    // 20 ms, then 30, 45, 67… (1.5x each): about seven polls in 600 ms, where the history alone would
    // have waited ~280 ms for the first.
    expect(polls[0]).toBeLessThan(200);
    expect(polls.length).toBeGreaterThanOrEqual(5);
    // Nothing learnt from it either: only the ten durations seeded above.
    expect((await learnt())?.samples).toBe(10);
  });
});
