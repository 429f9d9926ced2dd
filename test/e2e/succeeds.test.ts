import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from '../harness/service.ts';

describe('a purge that the CDN completes', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 150 } });
    service = startTestService(testConfigInput(simulator.url));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('goes queued -> submitted -> polled -> succeeded, with the remote task id recorded', async () => {
    const { id, cdns } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/news/a.html', 'https://img.example.com/b.jpg?v=2'],
    });
    expect(cdns).toEqual(['vims-main']);

    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    const [batch] = status.batches;
    const task = simulator.vims.tasks[0];
    expect(task).toBeDefined();
    expect(batch).toMatchObject({
      cdnId: 'vims-main',
      state: 'succeeded',
      remoteId: String(task?.id),
      progress: 100,
    });
    expect(batch?.attempts).toBe(1);
    expect(batch?.polls).toBeGreaterThanOrEqual(1);
    expect(batch?.submittedAt).toBeGreaterThanOrEqual(batch?.queuedAt ?? Number.POSITIVE_INFINITY);
    expect(batch?.finishedAt).toBeGreaterThanOrEqual(batch?.submittedAt ?? Number.POSITIVE_INFINITY);
    expect(status.finishedAt).toBe(batch?.finishedAt);
  });

  it('sends VIMS the configured target and an escaped, anchored pattern covering exactly the URLs', async () => {
    const before = simulator.vims.tasks.length;
    const { id } = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/x/1.jpg'] });
    await service.waitForFinish(id);
    const task = simulator.vims.tasks[before];
    expect(task).toMatchObject({ cdnId: 101, target: 'all', pattern: '^\\/x\\/1\\.jpg$' });
  });

  it('logs every line about a job with purge id, CDN id, job id and remote id, and never the token', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/logged'] });
    const status = await service.waitForFinish(id);
    const remoteId = status.batches[0]?.remoteId;
    const lines = service.logs.filter((line) => line.purgeId === id);
    const accepted = lines.find((line) => line.msg === 'purge accepted by CDN');
    const done = lines.find((line) => line.msg === 'purge succeeded');
    for (const line of [accepted, done]) {
      expect(line).toMatchObject({ purgeId: id, cdnId: 'vims-main', remoteId });
      expect(line?.jobId).toBe(`${id}-vims-main-0`);
    }
    expect(service.rawLogs()).not.toContain(TEST_VIMS_TOKEN);
  });

  it('keeps the token out of every Redis value', async () => {
    const keys = await service.redis.keys(`${service.config.redis.prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const type = await service.redis.type(key);
      const dump =
        type === 'hash'
          ? JSON.stringify(await service.redis.hgetall(key))
          : type === 'string'
            ? await service.redis.get(key)
            : '';
      expect(dump ?? '').not.toContain(TEST_VIMS_TOKEN);
    }
  });

  it('falls back to /api/task/<id> when /api/tasks/<id> answers 404', async () => {
    const legacy = await startSimulator({
      vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 50, taskPaths: ['task'] },
    });
    const other = startTestService(testConfigInput(legacy.url));
    try {
      const { id } = await other.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/legacy'] });
      const status = await other.waitForFinish(id);
      expect(status.state).toBe('succeeded');
      expect(legacy.vims.requests.some((r) => r.op === 'status' && r.path.startsWith('/api/task/'))).toBe(
        true,
      );
    } finally {
      await other.close();
      await legacy.close();
    }
  });
});
