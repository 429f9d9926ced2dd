import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import type { PurgePlan } from '../../src/pipeline/plan.ts';
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

  const plan = (purgeId: string): PurgePlan => ({
    purgeId,
    request: { urls: 1, dirs: 0 },
    cdns: ['vims-main'],
    batches: [
      {
        batchId: 'vims-main-0',
        cdnId: 'vims-main',
        target: { urls: ['https://www.example.com/a'], dirs: [] },
      },
    ],
  });
  const job = (purgeId: string, extra: Partial<BatchJobData> = {}): BatchJobData => ({
    purgeId,
    cdnId: 'vims-main',
    batchId: 'vims-main-0',
    target: { urls: ['https://www.example.com/a'], dirs: [] },
    createdAt: Date.now(),
    deadlineAt: Date.now() + 60_000,
    step: 'submit',
    polls: 0,
    ...extra,
  });

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
    await store.create(plan('lost-write'), Date.now());
    await store.update('lost-write', 'vims-main-0', { state: 'submitting' }, Date.now(), { attempts: 1 });
    const { remoteId } = await context().provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    const submittedAt = Date.now();
    // The crash window: the job's checkpoint holds the task id, the purge record never heard of it.
    const outcome = await runStep(job('lost-write', { step: 'poll', remoteId, submittedAt }), context());
    expect(outcome.kind).toBe('wait');
    const status = await store.get('lost-write');
    expect(status?.batches[0]).toMatchObject({ state: 'submitted', remoteId, submittedAt, polls: 1 });
  });

  it('sends nothing when re-run for a batch that has already ended', async () => {
    await store.create(plan('ended'), Date.now());
    await store.update('ended', 'vims-main-0', { state: 'failed', error: 'earlier' }, Date.now());
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const outcome = await runStep(job('ended'), context());
    expect(outcome).toEqual({ kind: 'skipped', callbackDue: false });
    expect(simulator.vims.requests.filter((r) => r.op === 'submit').length).toBe(submitsBefore);
    expect((await store.get('ended'))?.batches[0]).toMatchObject({ state: 'failed', error: 'earlier' });
  });

  it('releases a poll its own worker aborted (shutdown) without recording a failed check', async () => {
    await store.create(plan('aborted-poll'), Date.now());
    const { remoteId } = await context().provider.submit({ urls: ['https://www.example.com/a'], dirs: [] });
    const held = simulator.vims.holdNext('status');
    const shutdown = new AbortController();
    const run = runStep(
      job('aborted-poll', { step: 'poll', remoteId, submittedAt: Date.now() }),
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
    await store.create(plan('throttled'), Date.now());
    simulator.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '0' });
    const pauses: number[] = [];
    const run = runStep(
      job('throttled'),
      context({ isLastAttempt: true, onRateLimited: async (ms) => void pauses.push(ms) }),
    );
    await expect(run).rejects.toMatchObject({ code: 'CDN_RATE_LIMITED', retryable: true });
    expect(pauses).toEqual([1]);
    expect((await store.get('throttled'))?.batches[0]).toMatchObject({ state: 'submitting', attempts: 1 });
  });

  it('sends nothing for a batch whose purge record is gone (taken back, or expired)', async () => {
    const submitsBefore = simulator.vims.requests.filter((r) => r.op === 'submit').length;
    const outcome = await runStep(job('never-written'), context());
    expect(outcome).toEqual({ kind: 'skipped', callbackDue: false });
    expect(simulator.vims.requests.filter((r) => r.op === 'submit').length).toBe(submitsBefore);
  });
});
