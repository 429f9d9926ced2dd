import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hold } from '../../src/simulator/faults.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { RIGS, type SimOp, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const TASK_MS = 150;

describe.each(RIGS)('a purge that $provider completes', (rig) => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(rig.simulatorOptions({ taskDurationMs: TASK_MS }));
    const input = testConfigInput(simulator.url, {}, [rig.cdnEntry(simulator.url)]);
    // Completed jobs removed at once, as an operator may configure: what they returned then lives on only in
    // the queue's event stream, which the credential scan below must read too.
    service = startTestService({ ...input, worker: { ...input.worker, keepCompleted: { count: 0 } } });
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('goes queued -> submitted -> polled -> succeeded, with the remote task id recorded', async () => {
    const sim = rig.sim(simulator);
    const holds: Hold[] = [];
    const hold = (op: SimOp) => {
      const held = sim.holdNext(op);
      holds.push(held);
      return held;
    };
    // Each state is read from the record while the CDN holds the call that ends it, so none can be missed; the
    // task runs until the test has seen it polled, then finishes.
    sim.setTaskDuration(60_000);
    try {
      const submit = hold('submit');
      const { id, cdns } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/news/a.html', 'https://img.example.com/b.jpg?v=2&w=3'],
        dirs: ['https://www.example.com/sport/'],
      });
      expect(cdns).toEqual([rig.cdnId]);
      const read = async () => {
        const found = await service.runtime.store.get(id);
        return { purge: found?.state, batch: found?.batches[0] };
      };
      expect(await read()).toEqual({ purge: 'queued', batch: undefined });

      await submit.arrived;
      const submitting = await read();
      expect(submitting).toMatchObject({ purge: 'running', batch: { state: 'submitting', attempts: 1 } });
      expect(submitting.batch?.remoteId).toBeUndefined();
      const firstPoll = hold('status');
      submit.release();

      await firstPoll.arrived;
      const remoteId = sim.remoteIds()[0];
      expect(await read()).toMatchObject({
        purge: 'running',
        batch: { state: 'submitted', remoteId, polls: 0 },
      });
      const secondPoll = hold('status');
      firstPoll.release();

      // The first poll found the task still running: the record counts it and stays submitted.
      await secondPoll.arrived;
      expect(await read()).toMatchObject({
        purge: 'running',
        batch: { state: 'submitted', remoteId, polls: 1 },
      });
      sim.setTaskDuration(0);
      secondPoll.release();

      const status = await service.waitForFinish(id);
      expect(status.state).toBe('succeeded');
      const [batch] = status.batches;
      expect(batch).toMatchObject({
        cdnId: rig.cdnId,
        state: 'succeeded',
        progress: 100,
        attempts: 1,
        items: 3,
      });
      expect(batch?.remoteId).toBe(remoteId);
      expect(batch?.polls).toBeGreaterThanOrEqual(3);
      expect(batch?.submittedAt).toBeGreaterThanOrEqual(batch?.queuedAt ?? Number.POSITIVE_INFINITY);
      expect(batch?.finishedAt).toBeGreaterThanOrEqual(batch?.submittedAt ?? Number.POSITIVE_INFINITY);
      expect(status.finishedAt).toBe(batch?.finishedAt);
    } finally {
      for (const held of holds) held.release();
      sim.setTaskDuration(TASK_MS);
    }
  });

  it('logs every line about a job with batch id, CDN id, job id and remote id, names the purges it carries, and never the credential', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/logged'] });
    const status = await service.waitForFinish(id);
    const remoteId = status.batches[0]?.remoteId;
    const batchId = status.batches[0]?.batchId;
    // The worker logs the outcome just after writing it, so the record can be read before the line exists.
    const { accepted, done } = await vi.waitFor(() => {
      const lines = service.logs.filter((line) => line.batchId === batchId);
      const found = {
        accepted: lines.find((line) => line.msg === 'purge accepted by CDN'),
        done: lines.find((line) => line.msg === 'purge succeeded'),
      };
      if (!found.accepted || !found.done) throw new Error('outcome not logged yet');
      return found;
    });
    for (const line of [accepted, done]) {
      expect(line).toMatchObject({ batchId, cdnId: rig.cdnId, remoteId, jobId: expect.any(String) });
      expect(batchId).toBe(`${rig.cdnId}-${line?.jobId}`);
    }
    expect(accepted?.purgeIds).toEqual([id]);
    expect(service.rawLogs()).not.toContain(rig.secret);
  });

  it('keeps the credential out of every Redis key and value, of every type', async () => {
    // Its own purges, so what is scanned does not rest on the tests before: one that succeeds, one the CDN
    // refuses (its reason is kept: in the failed job and the queue's event stream).
    const { id: done } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/scan'],
    });
    expect((await service.waitForFinish(done)).state).toBe('succeeded');
    const { body, contentType } = rig.rejection;
    rig.sim(simulator).faults.inject('submit', { kind: 'status', status: 400, body, contentType });
    const { id: refused } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/scan-refused'],
    });
    expect((await service.waitForFinish(refused)).state).toBe('failed');

    const keys = await service.redis.keys(`${service.config.redis.prefix}*`);
    const types = new Set<string>();
    for (const key of keys) {
      const type = await service.redis.type(key);
      // Expired between the listing and the look (a rate limiter's window key): nothing left to hold a secret.
      if (type === 'none') continue;
      types.add(type);
      for (const text of [key, ...(await everyStringIn(service.redis, key, type))])
        expect(text, `${type} ${key}`).not.toContain(rig.secret);
    }
    // BullMQ's event log is a stream: the only place a removed job's return value lives on.
    expect([...types].sort()).toEqual(expect.arrayContaining(['hash', 'stream', 'string', 'zset']));
  });
});

/** Every string a key holds: fields and values, members, stream entries. A type not read here fails the test. */
async function everyStringIn(redis: Redis, key: string, type: string): Promise<string[]> {
  switch (type) {
    case 'string':
      return [(await redis.get(key)) ?? ''];
    case 'hash':
      return Object.entries(await redis.hgetall(key)).flat();
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1);
    case 'stream':
      return (await redis.xrange(key, '-', '+')).flatMap(([, fields]) => fields);
    default:
      throw new Error(`${key} is a Redis ${type}, which the credential scan cannot read`);
  }
}

describe('a VIMS purge, on the wire', () => {
  it('sends the configured target and an escaped, anchored pattern covering exactly the URLs', async () => {
    const simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    const service = startTestService(testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]));
    try {
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/x/1.jpg'],
      });
      await service.waitForFinish(id);
      expect(simulator.vims.tasks[0]).toMatchObject({
        cdnId: 101,
        target: 'all',
        pattern: '^\\/x\\/1\\.jpg$',
      });
    } finally {
      await service.close();
      await simulator.close();
    }
  });

  it('falls back to /api/task/<id> when /api/tasks/<id> answers 404', async () => {
    const options = VIMS_RIG.simulatorOptions({ taskDurationMs: 50 });
    const simulator = await startSimulator({ vims: { ...options.vims, taskPaths: ['task'] } });
    const service = startTestService(testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]));
    try {
      const { id } = await service.runtime.producer.enqueuePurge({
        urls: ['https://www.example.com/legacy'],
      });
      expect((await service.waitForFinish(id)).state).toBe('succeeded');
      expect(simulator.vims.requests.some((r) => r.op === 'status' && r.path.startsWith('/api/task/'))).toBe(
        true,
      );
    } finally {
      await service.close();
      await simulator.close();
    }
  });
});
