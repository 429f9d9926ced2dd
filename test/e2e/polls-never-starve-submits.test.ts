import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/** Calls the CDN's rate limit lets out per second: polls and submits alike. */
const PER_SECOND = 4;
const BATCHES = 12;
const POLLING = 12;

/**
 * Polls share their CDN's rate limit with submits (queue/poll-priority.ts). Here a dozen batches want a
 * poll every 50 ms (tasks of a minute reporting no progress) against a limit of 4 calls a second, so polls
 * are always due, many of them: a new purge's submit must still get the next call the limit lets out.
 */
async function rig() {
  const simulator: Simulator = await startSimulator({
    vims: { ...VIMS_RIG.simulatorOptions({ taskDurationMs: 60_000 }).vims, progressCurve: 'none' },
  });
  // The shortest pattern VIMS allows, and paths too long for two in one: each purge is a call of its own.
  const entry = {
    ...VIMS_RIG.cdnEntry(simulator.url),
    rateLimit: { max: PER_SECOND, durationMs: 1000 },
    maxPatternLength: 64,
    coalesce: { windowMs: 0 },
  };
  const input = testConfigInput(simulator.url, {}, [entry]);
  const poll = { initialIntervalMs: 20, maxIntervalMs: 50, jitter: 0, deadlineMs: 30_000 };
  const service: TestService = startTestService({ ...input, policy: { ...input.policy, poll } });
  const submits = () => simulator.vims.requests.filter((r) => r.op === 'submit');
  const enqueue = (name: string) =>
    service.runtime.producer.enqueuePurge({
      urls: [`https://www.example.com/${'long-path-'.repeat(4)}${name}`],
    });
  const close = async () => {
    await service.close();
    await simulator.close();
  };
  return { simulator, submits, enqueue, close };
}

describe('polls sharing the rate limit with submits', () => {
  let sim: Awaited<ReturnType<typeof rig>>;
  beforeAll(async () => {
    sim = await rig();
  });
  afterAll(() => sim.close());

  it('drains a backlog in turn with the polls due: neither holds the other back longer than its turn', async () => {
    const { simulator, submits, enqueue } = sim;
    for (let i = 0; i < BATCHES; i++) await enqueue(`first-${i}`);
    await vi.waitFor(() => expect(submits()).toHaveLength(BATCHES), { timeout: 20_000, interval: 50 });
    // One flush carries the backlog on at a time (each takes its call, then adds the next), waiting behind
    // at most one due poll of each batch already sent: 11 ÷ 4 a second. Polls ran all along.
    const times = submits().map((r) => r.at);
    const gaps = times.slice(1).map((at, i) => at - (times[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThan(((BATCHES - 1) / PER_SECOND + 1) * 1_000);
    const between = simulator.vims.requests.filter(
      (r) => r.op === 'status' && r.at > (times[0] ?? 0) && r.at < (times.at(-1) ?? 0),
    );
    expect(between.length).toBeGreaterThanOrEqual(BATCHES);
  });
});

describe('a new purge behind a CDN busy with polls', () => {
  let sim: Awaited<ReturnType<typeof rig>>;
  beforeAll(async () => {
    sim = await rig();
  });
  afterAll(() => sim.close());

  it('is sent in the next call the limit lets out, however many polls are due', async () => {
    const { simulator, submits, enqueue } = sim;
    // Batches of purges sent one by one (not a backlog): each one's job is a new purge's flush become its poll.
    for (let i = 0; i < POLLING; i++) {
      await enqueue(`polling-${i}`);
      await vi.waitFor(() => expect(submits()).toHaveLength(i + 1), { timeout: 10_000, interval: 20 });
    }
    // The limit is spent on polls by now: every call in the last second was one.
    await vi.waitFor(
      () => {
        const since = Date.now() - 1_000;
        const recent = simulator.vims.requests.filter((r) => r.at >= since);
        expect(recent.length).toBeGreaterThanOrEqual(PER_SECOND - 1);
        expect(recent.every((r) => r.op === 'status')).toBe(true);
      },
      { timeout: 5_000, interval: 100 },
    );
    const acceptedAt = Date.now();
    await enqueue('late');
    await vi.waitFor(() => expect(submits()).toHaveLength(POLLING + 1), { timeout: 10_000, interval: 20 });
    const waited = (submits().at(-1)?.at ?? 0) - acceptedAt;
    // At most the rest of the limiter's 1 s window; behind the polls due (one a batch) it would wait two
    // windows or more (12 ÷ 4 a second).
    expect(waited).toBeLessThan(1_600);
  });
});
