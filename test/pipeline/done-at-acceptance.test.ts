import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { BatchJobData, TakenBatchJobData } from '../../src/pipeline/job.ts';
import { runStep, type StepContext } from '../../src/pipeline/step.ts';
import type { Provider, SubmitResult } from '../../src/providers/provider.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/**
 * A CDN with no status endpoint (Fastly, Cloudflare, Akamai, Varnish) says at acceptance when the batch is
 * done: the pipeline ends it then, and never calls `status`. The provider here is a stand-in for such a CDN
 * (its calls are counted); the store is real Redis.
 */
describe('a batch whose CDN has nothing to poll', () => {
  let redis: Redis;
  let store: StatusStore;
  let config: Config;
  const calls = { submit: 0, status: 0 };
  let answer: SubmitResult = { remoteId: 'r-1' };
  const provider: Provider = {
    cdnId: 'edge',
    name: 'stand-in',
    capabilities: { kinds: new Set(['urls']), maxItemsPerCall: 100 },
    toBatches: (target) => [target],
    async submit() {
      calls.submit += 1;
      return answer;
    },
    async status() {
      calls.status += 1;
      throw new Error('status must not be called for a CDN with nothing to poll');
    },
    check: async () => ({ ok: true, detail: '' }),
    close: async () => {},
  };
  const paused: number[] = [];
  const checkpoints: BatchJobData[] = [];
  const context = (now: () => number = Date.now): StepContext => ({
    provider,
    store,
    policy: config.policy,
    log: createLogger({ level: 'silent' }),
    now,
    random: () => 0.5,
    checkpoint: async (data) => {
      checkpoints.push(data);
    },
    take: async () => ({
      batchId: undefined,
      stillPending: 0,
      nextAcceptedAt: 0,
      nextUrgentAt: 0,
      nextBulkAt: 0,
    }),
    isLastAttempt: false,
    onRateLimited: async (ms) => {
      paused.push(ms);
    },
  });

  async function batchFor(name: string): Promise<TakenBatchJobData> {
    const now = Date.now();
    await store.accept({
      purgeId: name,
      createdAt: now,
      request: { urls: 1, dirs: 0 },
      work: [{ cdnId: 'edge', target: { urls: [`https://www.example.com/${name}`], dirs: [] } }],
    });
    const taken = await store.take({
      cdnId: 'edge',
      flushId: name,
      batchId: `edge-${name}`,
      maxItems: 100,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: 60_000,
      now,
    });
    if (taken.batchId === undefined) throw new Error('nothing taken');
    return {
      cdnId: 'edge',
      step: 'submit',
      batchId: taken.batchId,
      acceptedAt: taken.acceptedAt,
      deadlineAt: taken.deadlineAt,
      polls: 0,
    };
  }

  beforeAll(() => {
    config = parseConfig(
      {
        redis: { url: inject('redisUrl') },
        cdns: [{ id: 'edge', provider: 'vims', baseUrl: 'http://127.0.0.1:1', token: 'sk_live_x', cdnId: 1 }],
      },
      {},
    );
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix: uniquePrefix('settle'), ttlSeconds: 600 });
  });
  afterAll(() => redis.disconnect());

  it('ends the batch succeeded at its acceptance, with the provider’s note, and asks the CDN nothing more', async () => {
    answer = { remoteId: 'fastly-1', doneAtAcceptance: { afterMs: 0, note: 'no status endpoint' } };
    const before = { ...calls };
    const outcome = await runStep(await batchFor('now'), context());
    expect(outcome).toMatchObject({ kind: 'finished', state: 'succeeded' });
    expect(calls).toEqual({ submit: before.submit + 1, status: before.status });
    const status = await store.get('now');
    expect(status?.state).toBe('succeeded');
    expect(status?.batches[0]).toMatchObject({
      state: 'succeeded',
      remoteId: 'fastly-1',
      completion: 'no status endpoint',
      polls: 0,
    });
    expect(status?.batches[0]?.submittedAt).toBeTypeOf('number');
  });

  it("waits the CDN's estimate, then ends the batch without a status call (also when re-run early)", async () => {
    answer = { remoteId: 'akamai-1', doneAtAcceptance: { afterMs: 5_000, note: 'estimatedSeconds 5' } };
    const before = { ...calls };
    let clock = Date.now();
    const now = () => clock;
    const waiting = await runStep(await batchFor('later'), context(now));
    expect(waiting).toMatchObject({ kind: 'wait', until: clock + 5_000, persisted: true });
    const job = (waiting as { data: BatchJobData }).data;
    expect(checkpoints.at(-1)).toEqual(job);
    expect((await store.get('later'))?.batches[0]).toMatchObject({
      state: 'submitted',
      remoteId: 'akamai-1',
      completion: 'estimatedSeconds 5',
    });
    // A stalled job re-run before its time only waits again.
    clock += 1_000;
    expect(await runStep(job, context(now))).toMatchObject({ kind: 'wait', until: clock + 4_000 });
    clock += 4_000;
    expect(await runStep(job, context(now))).toMatchObject({ kind: 'finished', state: 'succeeded' });
    expect(calls).toEqual({ submit: before.submit + 1, status: before.status });
    expect((await store.get('later'))?.state).toBe('succeeded');
  });

  it('never waits past the poll deadline for an estimate', async () => {
    answer = { remoteId: 'akamai-2', doneAtAcceptance: { afterMs: 10 ** 12, note: 'a wild estimate' } };
    const clock = Date.now();
    const waiting = await runStep(
      await batchFor('wild'),
      context(() => clock),
    );
    expect(waiting).toMatchObject({ kind: 'wait', until: clock + config.policy.poll.deadlineMs });
  });

  it('holds every call to the CDN until its window resets when its rate headers say none are left', async () => {
    paused.length = 0;
    answer = {
      remoteId: 'fastly-2',
      doneAtAcceptance: { afterMs: 0, note: 'no status endpoint' },
      rateLimit: { remaining: 0, resetAfterMs: 7_000 },
    };
    expect(await runStep(await batchFor('last-call'), context())).toMatchObject({ state: 'succeeded' });
    expect(paused).toEqual([7_000]);
    answer = { ...answer, rateLimit: { remaining: 3, resetAfterMs: 7_000 } };
    await runStep(await batchFor('calls-left'), context());
    expect(paused).toEqual([7_000]);
  });
});
