import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { runStep, type StepContext } from '../../src/pipeline/step.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createProvider } from '../../src/providers/registry.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { createStatusStore, type StatusStore } from '../../src/status/store.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/** The step on its own, against a real store and the simulator: the windows the e2e tests cannot aim at. */
describe('one step of a batch', () => {
  let simulator: Simulator;
  let redis: Redis;
  let store: StatusStore;
  let context: (overrides?: Partial<StepContext>) => StepContext;
  let close: () => Promise<void>;

  const ref = (name: string) => ({ cdnId: 'vims-main', batchId: `vims-main-${name}` });
  /** A purge accepted and taken into its own batch, as a flush would: the job data of its submit step. */
  async function batchFor(name: string, extra: Partial<BatchJobData> = {}): Promise<BatchJobData> {
    const now = Date.now();
    const target = { urls: [`https://www.example.com/${name}`], dirs: [] };
    await store.accept({
      purgeId: name,
      createdAt: now,
      request: { urls: 1, dirs: 0 },
      work: [{ cdnId: 'vims-main', target }],
    });
    const taken = await store.take({
      cdnId: 'vims-main',
      flushId: name,
      batchId: ref(name).batchId,
      maxItems: 100,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: 60_000,
      now,
    });
    if (taken.batchId === undefined) throw new Error('nothing taken');
    return {
      cdnId: 'vims-main',
      step: 'submit',
      batchId: taken.batchId,
      acceptedAt: taken.acceptedAt,
      deadlineAt: taken.deadlineAt,
      polls: 0,
      ...extra,
    };
  }

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 60_000 }));
    const config = parseConfig(
      { redis: { url: inject('redisUrl') }, cdns: [VIMS_RIG.cdnEntry(simulator.url)] },
      {},
    );
    const http = createHttpClient(config.policy.http);
    const provider = createProvider(config.cdns[0] as (typeof config.cdns)[0], { http });
    redis = new Redis(inject('redisUrl'));
    store = createStatusStore({ redis, prefix: uniquePrefix('step'), ttlSeconds: 600 });
    context = (overrides = {}) => ({
      provider,
      store,
      policy: config.policy,
      log: createLogger({ level: 'silent' }),
      now: Date.now,
      random: () => 0.5,
      checkpoint: async () => {},
      take: async () => ({
        batchId: undefined,
        stillPending: 0,
        nextAcceptedAt: 0,
        nextUrgentAt: 0,
        nextBulkAt: 0,
      }),
      isLastAttempt: false,
      ...overrides,
    });
    close = async () => {
      await http.close();
      redis.disconnect();
      await simulator.close();
    };
  });
  afterAll(() => close());

  it('records the submitted state and task id on a poll when the submit lost its own status write', async () => {
    const data = await batchFor('lost-write');
    await store.update(ref('lost-write'), { state: 'submitting' }, Date.now(), { attempts: 1 });
    const { remoteId } = await context().provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    const submittedAt = Date.now();
    // The crash window: the job's checkpoint holds the task id, the batch record never heard of it.
    // The checkpoint moved the deadline to the poll deadline; the record still has the queue's.
    const deadlineAt = submittedAt + 900_000;
    const outcome = await runStep({ ...data, step: 'poll', remoteId, submittedAt, deadlineAt }, context());
    expect(outcome.kind).toBe('wait');
    const status = await store.get('lost-write');
    // The poll deadline rides along too: by the queue's, the reconciler would end a batch the CDN still runs.
    expect(status?.batches[0]).toMatchObject({
      state: 'submitted',
      remoteId,
      submittedAt,
      deadlineAt,
      polls: 1,
    });
  });

  it("keeps the CDN's task id in the job's data when the write that stores it with the record fails", async () => {
    const data = await batchFor('write-fails');
    await store.update(ref('write-fails'), { state: 'submitting' }, Date.now(), { attempts: 1 });
    const adopted: BatchJobData[] = [];
    // The record's `submitted` transition fails (a Redis error, a failover): our store's call, not Redis, fails.
    const failing: StatusStore = {
      ...store,
      update: (batch, patch, ...rest) =>
        patch.state === 'submitted'
          ? Promise.reject(new Error('READONLY You cannot write against a read only replica.'))
          : store.update(batch, patch, ...rest),
    };
    const jobData = {
      key: 'unused',
      alongside: async () => {},
      adopt: (next: BatchJobData) => adopted.push(next),
    };
    await expect(runStep(data, context({ store: failing, jobData }))).rejects.toThrow(/READONLY/);
    // The queue layer sees a batch the CDN accepted, and polls it again rather than spending an attempt.
    expect(adopted).toEqual([expect.objectContaining({ step: 'poll', remoteId: expect.any(String) })]);
  });

  it('sends nothing when re-run for a batch that has already ended', async () => {
    const data = await batchFor('ended');
    await store.update(ref('ended'), { state: 'failed', error: 'earlier' }, Date.now());
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const outcome = await runStep(data, context());
    expect(outcome).toEqual({ kind: 'skipped', callbacksDue: [] });
    expect(simulator.vims.requests.filter((r) => r.op === 'submit').length).toBe(submitsBefore);
    expect((await store.get('ended'))?.batches[0]).toMatchObject({ state: 'failed', error: 'earlier' });
  });

  it('releases a poll its own worker aborted (shutdown) without recording a failed check', async () => {
    const data = await batchFor('aborted-poll');
    const { remoteId } = await context().provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    const held = simulator.vims.holdNext('status');
    const shutdown = new AbortController();
    const run = runStep(
      { ...data, step: 'poll', remoteId, submittedAt: Date.now() },
      context({ isLastAttempt: true, signal: shutdown.signal }),
    );
    await held.arrived;
    shutdown.abort('shutting down');
    expect(await run).toEqual({ kind: 'released' });
    held.release();
    expect((await store.get('aborted-poll'))?.batches[0]).toMatchObject({ state: 'queued', polls: 0 });
    expect((await store.get('aborted-poll'))?.batches[0]).not.toHaveProperty('error');
  });

  it('pauses the CDN at least 1 ms on a 429 with Retry-After: 0, and keeps it retryable on the last attempt', async () => {
    const data = await batchFor('throttled');
    simulator.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '0' });
    const pauses: number[] = [];
    const run = runStep(
      data,
      context({ isLastAttempt: true, onRateLimited: async (ms) => void pauses.push(ms) }),
    );
    await expect(run).rejects.toMatchObject({ code: 'CDN_RATE_LIMITED', retryable: true });
    expect(pauses).toEqual([1]);
    expect((await store.get('throttled'))?.batches[0]).toMatchObject({ state: 'submitting', attempts: 1 });
  });

  it('sends nothing for a batch whose record is gone (expired)', async () => {
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const outcome = await runStep(
      {
        cdnId: 'vims-main',
        step: 'submit',
        batchId: 'vims-main-never',
        acceptedAt: 1,
        deadlineAt: Date.now() + 60_000,
        polls: 0,
      },
      context(),
    );
    expect(outcome).toEqual({ kind: 'skipped', callbacksDue: [] });
    expect(simulator.vims.requests.filter((r) => r.op === 'submit').length).toBe(submitsBefore);
  });

  /** A flush's take, as the batch processor makes it: claiming the batch for the submit that follows. */
  const flushTake = (flushId: string) => () =>
    store.take({
      cdnId: 'vims-main',
      flushId,
      batchId: `vims-main-${flushId}`,
      maxItems: 100,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: 60_000,
      now: Date.now(),
      claim: true,
    });
  const acceptOne = (purgeId: string) =>
    store.accept({
      purgeId,
      createdAt: Date.now(),
      request: { urls: 1, dirs: 0 },
      work: [{ cdnId: 'vims-main', target: { urls: [`https://www.example.com/${purgeId}`], dirs: [] } }],
    });
  const submits = () => simulator.vims.requests.filter((r) => r.op === 'submit').length;

  it("takes a flush's batch and submits it in the same run, its claim riding on the take", async () => {
    await acceptOne('flushed');
    const checkpoints: BatchJobData[] = [];
    const updates: string[] = [];
    const counted: StatusStore = {
      ...store,
      update: (...args) => {
        updates.push(String(args[1].state));
        return store.update(...args);
      },
    };
    const outcome = await runStep(
      { cdnId: 'vims-main', step: 'take', polls: 0 },
      context({
        store: counted,
        checkpoint: async (data) => void checkpoints.push(data),
        take: flushTake('f-1'),
      }),
    );
    expect(outcome.kind).toBe('wait');
    // The job's data says `take` until the CDN has the batch: a re-run takes the same batch back (its marker).
    expect(checkpoints.map((data) => [data.step, data.batchId])).toEqual([['poll', 'vims-main-f-1']]);
    // No `submitting` transition of the submit's own: the take claimed the batch.
    expect(updates).toEqual(['submitted']);
    expect((await store.get('flushed'))?.batches[0]).toMatchObject({
      batchId: 'vims-main-f-1',
      state: 'submitted',
      attempts: 1,
    });
  });

  it('claims a re-run of a flush again and submits the same batch: killed between its take and its checkpoint', async () => {
    await acceptOne('rerun');
    await acceptOne('rerun-other');
    // The first run's take, then the crash: the job's data still says `take`.
    expect(await flushTake('f-rerun')()).toMatchObject({ claimed: true, items: 2 });
    const before = submits();
    const outcome = await runStep(
      { cdnId: 'vims-main', step: 'take', polls: 0 },
      context({ take: flushTake('f-rerun') }),
    );
    expect(outcome.kind).toBe('wait');
    expect(submits()).toBe(before + 1);
    expect((await store.get('rerun'))?.batches).toMatchObject([
      { batchId: 'vims-main-f-rerun', state: 'submitted', attempts: 2, items: 2 },
    ]);
  });

  it('sends nothing when a re-run of a flush finds its batch ended', async () => {
    await acceptOne('ended-after-take');
    await flushTake('f-ended')();
    // Ended while the flush was down (the reconciler, say).
    await store.update(
      { cdnId: 'vims-main', batchId: 'vims-main-f-ended' },
      { state: 'failed', error: 'ended' },
      Date.now(),
    );
    const before = submits();
    const outcome = await runStep(
      { cdnId: 'vims-main', step: 'take', polls: 0 },
      context({ take: flushTake('f-ended') }),
    );
    expect(outcome).toEqual({ kind: 'skipped', callbacksDue: [] });
    expect(submits()).toBe(before);
    expect((await store.get('ended-after-take'))?.batches[0]).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('checkpoints the batch a failed submit right after its take will retry, so the retry knows its deadline', async () => {
    await acceptOne('retried');
    simulator.vims.faults.inject('submit', { kind: 'status', status: 503 });
    const checkpoints: BatchJobData[] = [];
    const run = runStep(
      { cdnId: 'vims-main', step: 'take', polls: 0 },
      context({ checkpoint: async (data) => void checkpoints.push(data), take: flushTake('f-retried') }),
    );
    await expect(run).rejects.toMatchObject({ code: 'CDN_UNAVAILABLE', retryable: true });
    expect(checkpoints).toMatchObject([
      { step: 'submit', batchId: 'vims-main-f-retried', deadlineAt: expect.any(Number) },
    ]);
    expect((await store.get('retried'))?.batches[0]).toMatchObject({ state: 'submitting', attempts: 1 });
  });

  it('does not claim a batch past its queue deadline at the take: the submit step ends it timed out', async () => {
    await acceptOne('late');
    const taken = await store.take({
      cdnId: 'vims-main',
      flushId: 'f-late',
      batchId: 'vims-main-f-late',
      maxItems: 100,
      maxChars: 0,
      charsOf: 'url',
      deadlineMs: 0,
      now: Date.now(),
      claim: true,
    });
    expect(taken).toMatchObject({ claimed: false });
    const before = submits();
    const outcome = await runStep(
      { cdnId: 'vims-main', step: 'take', polls: 0 },
      context({ take: async () => taken }),
    );
    expect(outcome).toMatchObject({ kind: 'finished', state: 'timed_out' });
    expect(submits()).toBe(before);
    expect((await store.get('late'))?.batches[0]).toMatchObject({ state: 'timed_out', attempts: 0 });
  });

  it('ends a flush that finds nothing pending without calling the CDN', async () => {
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const outcome = await runStep({ cdnId: 'vims-main', step: 'take', polls: 0 }, context());
    expect(outcome).toEqual({ kind: 'empty' });
    expect(simulator.vims.requests.filter((r) => r.op === 'submit').length).toBe(submitsBefore);
  });
});
