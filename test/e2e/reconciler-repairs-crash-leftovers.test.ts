import { UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.ts';
import type { BatchJobData } from '../../src/pipeline/job.ts';
import { createPurgeProducer } from '../../src/queue/enqueue.ts';
import { queueName } from '../../src/queue/names.ts';
import { createReconciler } from '../../src/queue/reconciler.ts';
import type { Runtime } from '../../src/runtime.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { unreachableRedis } from '../harness/unreachable-redis.ts';

/**
 * A process that takes a purge's batch and dies before ending it: its job fails for good (a foreign BullMQ
 * worker throws UnrecoverableError right after the take) and none of our workers hears of it.
 */
async function takeAndDie(
  runtime: Runtime,
  input: { redis: { url: unknown; prefix: string } },
  cdnId: string,
  id: string,
) {
  const connection = new Redis(String(input.redis.url), { maxRetriesPerRequest: null });
  const foreign = new Worker<BatchJobData>(
    queueName(cdnId),
    async (job) => {
      await runtime.store.take({
        cdnId,
        flushId: String(job.id),
        batchId: `${cdnId}-${job.id}`,
        maxItems: 100,
        maxChars: 0,
        charsOf: 'url',
        deadlineMs: 60_000,
        now: Date.now(),
      });
      throw new UnrecoverableError('crashed mid-batch');
    },
    { connection, prefix: input.redis.prefix },
  );
  await vi.waitFor(async () => expect((await runtime.store.get(id))?.batches).toHaveLength(1), {
    timeout: 5_000,
    interval: 20,
  });
  await foreign.close();
  connection.disconnect();
}

/**
 * A producer that accepts purges into the service's store but whose queue connection is down: its flush add
 * fails after the acceptance, the state a kill between the two leaves.
 */
async function orphaningProducer(service: TestService) {
  const dead = await unreachableRedis();
  const producer = createPurgeProducer({
    config: service.config,
    providers: service.runtime.providers,
    store: service.runtime.store,
    quota: service.runtime.quota,
    connection: dead,
  });
  return {
    enqueuePurge: producer.enqueuePurge,
    async close() {
      await producer.close().catch(() => {});
      dead.disconnect();
    },
  };
}

/** The sweep repairs what a crash at the wrong moment leaves; each case is that moment's state, for real. */
describe('the reconciler', () => {
  let simulator: Simulator;
  let receiver: Receiver;
  let input: ReturnType<typeof testConfigInput>;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 30 }));
    receiver = await startReceiver((_req, res) => res.writeHead(204).end());
    input = testConfigInput(
      simulator.url,
      {
        reconcile: { intervalMs: 200 },
        callbacks: { secret: 'test-callback-secret-0123', initialIntervalMs: 20, allowHosts: ['127.0.0.1'] },
      },
      [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } }],
    );
  });
  afterAll(async () => {
    await receiver.close();
    await simulator.close();
  });

  it('adds the flush a purge never got (accepted, then the flush add failed) and the purge succeeds', async () => {
    const service = startTestService(input);
    const orphaning = await orphaningProducer(service);
    try {
      const { id } = await orphaning.enqueuePurge({ urls: ['https://www.example.com/orphan.html'] });
      const status = await service.waitForFinish(id, 5_000);
      expect(status.state).toBe('succeeded');
      const repair = service.logs.find((line) => line.msg === 'reconciler repaired');
      expect(repair).toMatchObject({ cdnId: 'vims-main', kind: 'flush_missing', pending: 1 });
    } finally {
      await orphaning.close();
      await service.close();
    }
  });

  it("adds the flush an urgent purge never got, though the bulk lane's own flush is waiting out its window", async () => {
    const bulkInput = {
      ...input,
      cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0, bulkWindowMs: 60_000 } }],
    };
    const service = startTestService(bulkInput);
    const { runtime } = service;
    const orphaning = await orphaningProducer(service);
    try {
      // A bulk purge and its flush, due in a minute; then an urgent one whose flush add failed.
      await runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/backlog.html'],
        priority: 'bulk',
      });
      const { id } = await orphaning.enqueuePurge({
        urls: ['https://www.example.com/takedown.html'],
        priority: 'urgent',
      });
      // Well inside the bulk window: only a flush of its own, from the sweep, gets it sent.
      expect((await service.waitForFinish(id, 5_000)).state).toBe('succeeded');
      const repair = service.logs.find((line) => line.msg === 'reconciler repaired');
      expect(repair).toMatchObject({ cdnId: 'vims-main', kind: 'flush_missing' });
    } finally {
      await orphaning.close();
      await service.close();
    }
  });

  it("re-adds a repeat's lost flush in the purge's own lane: an urgent one goes at once, not after the window", async () => {
    // A window no test waits out, and a reconciler that does not come round in time: only the repeat's own
    // flush, urgent, can send it.
    const slow = {
      ...input,
      reconcile: { intervalMs: 600_000 },
      cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 60_000 } }],
    };
    const service = startTestService(slow);
    const { runtime } = service;
    const orphaning = await orphaningProducer(service);
    try {
      const request = { urls: ['https://www.example.com/takedown-again.html'], priority: 'urgent' as const };
      const idempotency = { scope: 'api:cms', key: 'takedown-1' };
      const { id } = await orphaning.enqueuePurge(request, { idempotency });
      // The CMS sends it again with its key: the repeat makes sure of the flush the first call lost.
      const repeat = await runtime.producer.enqueuePurge(request, { idempotency });
      expect(repeat).toMatchObject({ id, duplicate: true });
      expect((await service.waitForFinish(id, 5_000)).state).toBe('succeeded');
    } finally {
      await orphaning.close();
      await service.close();
    }
  });

  it('ends failed a batch whose job BullMQ failed with nobody told, and its callback fires', async () => {
    // A process that took the batch and died: its job failed for good, no worker of ours heard of it.
    const producerOnly = startTestService(input, { workers: false });
    const { runtime } = producerOnly;
    const { id } = await runtime.producer.enqueuePurge(
      { urls: ['https://www.example.com/abandoned.html'] },
      { callbackUrl: `${receiver.url}/done` },
    );
    await takeAndDie(runtime, input, 'vims-main', id);
    await producerOnly.close();

    const service = startTestService(input);
    const metrics = service.runtime.metrics();
    try {
      const status = await service.waitForFinish(id, 5_000);
      expect(status.state).toBe('failed');
      expect(status.batches[0]).toMatchObject({ state: 'failed', errorCode: 'BATCH_ABANDONED' });
      await vi.waitFor(() => expect(receiver.received.some((r) => r.body.includes(id))).toBe(true), {
        timeout: 5_000,
        interval: 20,
      });
      expect(await metrics.render()).toMatch(
        /purge_worker_reconciled_total\{cdn="vims-main",kind="batch_abandoned"\} 1/,
      );
    } finally {
      await service.close();
    }
  });

  it('ends timed_out a batch far past its deadline whose job is not running (stuck behind a pause)', async () => {
    const service = startTestService(input, { workers: false });
    try {
      const { runtime } = service;
      const { id } = await runtime.producer.enqueuePurge({ urls: ['https://www.example.com/overdue.html'] });
      const taken = await runtime.store.take({
        cdnId: 'vims-main',
        flushId: 'stuck-1',
        batchId: 'vims-main-stuck-1',
        maxItems: 100,
        maxChars: 0,
        charsOf: 'url',
        deadlineMs: 1_000,
        now: Date.now(),
      });
      const queue = runtime.producer.queues.get('vims-main');
      if (!queue || taken.batchId === undefined) throw new Error('no batch');
      // Its job waits (delayed), as one would behind a CDN's long pause.
      await queue.add(
        'batch',
        { cdnId: 'vims-main', step: 'submit', polls: 0 },
        { jobId: 'stuck-1', delay: 600_000 },
      );
      const events: string[] = [];
      runtime.events.on('reconcile:repaired', (event) => void events.push(event.kind));
      const sweep = (at: number) =>
        createReconciler({
          config: service.config,
          store: runtime.store,
          queues: runtime.producer.queues,
          flushes: runtime.producer.flushes,
          connection: service.redis,
          log: createLogger({ level: 'silent' }),
          events: runtime.events,
          now: () => at,
        }).sweep();
      await sweep(taken.deadlineAt + 1_000);
      expect((await runtime.store.get(id))?.state).toBe('queued');
      await sweep(taken.deadlineAt + 61_000);
      const status = await runtime.store.get(id);
      expect(status?.state).toBe('timed_out');
      expect(status?.batches[0]).toMatchObject({ state: 'timed_out', errorCode: 'DEADLINE_EXCEEDED' });
      expect(events).toEqual(['batch_overdue']);
    } finally {
      await service.close();
    }
  });

  it('schedules a callback its batch made due when the process that ended the batch died before scheduling it', async () => {
    // No workers: this test is the process that takes and ends the batch, and the sweep runs by hand.
    const service = startTestService(input, { workers: false });
    try {
      const { runtime } = service;
      const { id } = await runtime.producer.enqueuePurge(
        { urls: ['https://www.example.com/lost-callback.html'] },
        { callbackUrl: `${receiver.url}/lost` },
      );
      // A process ends the batch (the fan-in makes the callback due) and is killed before adding its job.
      const taken = await runtime.store.take({
        cdnId: 'vims-main',
        flushId: 'lost-cb',
        batchId: 'vims-main-lost-cb',
        maxItems: 100,
        maxChars: 0,
        charsOf: 'url',
        deadlineMs: 60_000,
        now: Date.now(),
      });
      const ended = await runtime.store.update(
        { cdnId: 'vims-main', batchId: taken.batchId as string },
        { state: 'succeeded' },
        Date.now(),
      );
      expect(ended.callbacksDue).toEqual([id]);
      const scheduled: string[] = [];
      const sweep = (at: number) =>
        createReconciler({
          config: service.config,
          store: runtime.store,
          queues: runtime.producer.queues,
          flushes: runtime.producer.flushes,
          connection: service.redis,
          log: createLogger({ level: 'silent' }),
          now: () => at,
          onCallbackDue: async (purgeId) => {
            scheduled.push(purgeId);
            await runtime.store.callbackScheduled(purgeId);
          },
        }).sweep();
      await sweep(Date.now());
      expect(scheduled).toEqual([]); // within the grace a normal hand-off is still under way
      await sweep(Date.now() + 11_000);
      expect(scheduled).toEqual([id]);
      await sweep(Date.now() + 11_000);
      expect(scheduled).toEqual([id]); // confirmed: not again
    } finally {
      await service.close();
    }
  });
});

describe('the reconciler on a CDN with a daily quota', () => {
  let simulator: Simulator;

  beforeAll(async () => {
    simulator = await startSimulator(QUANTIL_RIG.simulatorOptions({ taskDurationMs: 30 }));
  });
  afterAll(() => simulator.close());

  it('gives back the quota of a batch it ends abandoned that QUANTIL never accepted', async () => {
    const input = testConfigInput(simulator.url, { reconcile: { intervalMs: 200 } }, [
      { ...QUANTIL_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } },
    ]);
    const producerOnly = startTestService(input, { workers: false });
    const { runtime } = producerOnly;
    const provider = runtime.providers.get('quantil-main');
    if (!provider) throw new Error('no provider');
    const before = await runtime.quota.used(provider, 'urls', Date.now());
    const { id } = await runtime.producer.enqueuePurge({ urls: ['https://www.example.com/charged.html'] });
    expect(await runtime.quota.used(provider, 'urls', Date.now())).toBe(before + 1);
    await takeAndDie(runtime, input, 'quantil-main', id);
    const service = startTestService(input);
    try {
      expect((await service.waitForFinish(id, 5_000)).state).toBe('failed');
      expect(await runtime.quota.used(provider, 'urls', Date.now())).toBe(before);
    } finally {
      await service.close();
      await producerOnly.close();
    }
  });
});
