import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createReplicaWaiter } from '../../src/queue/replicas.ts';
import { createStatusStore } from '../../src/status/store.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { type SpawnedRedis, spawnRedisServer, spawnReplica } from '../harness/redis-server.ts';

const URLS = ['https://www.example.com/replicated/a.html', 'https://www.example.com/replicated/b.html'];
const SHORT_TIMEOUT_MS = 300;

describe('redis.waitReplicas: an accepted purge is answered 202 only once a replica has it', () => {
  let primary: SpawnedRedis;
  let replica: SpawnedRedis;
  let replicaClient: Redis;
  /** Waits up to 10 s for the replica, so a test can hold the replica back while the API waits. */
  let patient: TestApi;
  /** Waits SHORT_TIMEOUT_MS. */
  let impatient: TestApi;

  beforeAll(async () => {
    primary = await spawnRedisServer();
    replica = await spawnReplica(primary);
    replicaClient = new Redis(replica.url);
    const withReplicas = (timeoutMs: number) => ({
      redis: { url: primary.url, prefix: uniquePrefix('replicas'), waitReplicas: { replicas: 1, timeoutMs } },
    });
    patient = await startTestApi('http://127.0.0.1:9', withReplicas(10_000));
    impatient = await startTestApi('http://127.0.0.1:9', withReplicas(SHORT_TIMEOUT_MS));
  }, 30_000);
  // A failed test must not leave the replica stopped for the next one.
  afterEach(() => replica.resume());
  afterAll(async () => {
    await patient?.close();
    await impatient?.close();
    replicaClient?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  const post = (api: TestApi, idempotencyKey: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: URLS, idempotencyKey },
    });

  /** The purge as the replica has it (reads from the replica itself). */
  const onReplica = (api: TestApi, id: string) =>
    createStatusStore({
      redis: replicaClient,
      prefix: api.service.config.redis.prefix,
      ttlSeconds: api.service.config.statusTtlSeconds,
    }).get(id);

  /** A client of the primary is blocked in WAIT (CLIENT LIST: last command wait, flag b). */
  async function blockedInWait(api: TestApi): Promise<boolean> {
    const clients = String(await api.service.redis.client('LIST')).split('\n');
    return clients.some((line) => /\bcmd=wait\b/.test(line) && /\bflags=\w*b/.test(line));
  }

  it('holds the answer while the replica acknowledges nothing, and answers 202 once it has the purge', async () => {
    replica.pause();
    let answered = false;
    const answer = post(patient, 'rev-1').then((response) => {
      answered = true;
      return response;
    });
    await vi.waitFor(async () => expect(await blockedInWait(patient)).toBe(true), {
      timeout: 5_000,
      interval: 20,
    });
    expect(answered).toBe(false);

    replica.resume();
    const response = await answer;
    expect(response.statusCode).toBe(202);
    const { id } = response.json() as { id: string };
    expect(await onReplica(patient, id)).toMatchObject({ id, state: 'queued', cdns: ['vims-main'] });
  });

  it('answers 503 NOT_REPLICATED within its timeout while no replica acknowledges; retries with the same key get the same purge and enqueue nothing twice', async () => {
    const { runtime } = impatient.service;
    replica.pause();
    const startedAt = performance.now();
    const first = await post(impatient, 'rev-2');
    const elapsed = performance.now() - startedAt;
    expect(first.statusCode).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    const body = first.json() as { id: string };
    expect(body).toMatchObject({
      error: 'NOT_REPLICATED',
      message: expect.stringContaining('same idempotency key'),
      id: expect.any(String),
      cdns: ['vims-main'],
      replicas: { acknowledged: 0, required: 1 },
    });
    // It waited for the replica, and no longer than its bound (generous: a loaded machine is slow).
    expect(elapsed).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS);
    expect(elapsed).toBeLessThan(SHORT_TIMEOUT_MS + 5_000);
    // Accepted all the same, on the primary: the workers would carry it out.
    expect(await runtime.store.get(body.id)).toMatchObject({ id: body.id, state: 'queued' });

    const retried = await post(impatient, 'rev-2');
    expect(retried.statusCode).toBe(503);
    expect(retried.json()).toMatchObject({ error: 'NOT_REPLICATED', id: body.id });

    replica.resume();
    const confirmed = await post(impatient, 'rev-2');
    expect(confirmed.statusCode).toBe(202);
    expect(confirmed.json()).toEqual({ id: body.id, cdns: ['vims-main'], duplicate: true });
    expect(await onReplica(impatient, body.id)).toMatchObject({ id: body.id });

    // One purge, its targets pending once, one flush job: the retries added nothing.
    expect(await runtime.store.pendingCount('vims-main')).toBe(URLS.length);
    expect((await runtime.store.get(body.id))?.targets['vims-main']?.total).toBe(URLS.length);
    const jobs = (await runtime.producer.queues.get('vims-main')?.getJobCounts()) ?? {};
    expect(Object.values(jobs).reduce((sum, count) => sum + count, 0)).toBe(1);
    const metrics = await runtime.metrics().render();
    expect(metrics).toMatch(/^purge_worker_purges_accepted_total 1$/m);
    expect(metrics).toMatch(/^purge_worker_replica_confirmations_total\{outcome="not_replicated"\} 2$/m);
    expect(metrics).toMatch(/^purge_worker_replica_confirmations_total\{outcome="confirmed"\} 1$/m);
    const warnings = impatient.service.logs.filter(
      (line) =>
        line.purgeId === body.id && typeof line.msg === 'string' && line.msg.includes('NOT_REPLICATED'),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ acknowledged: 0, required: 1, timeoutMs: SHORT_TIMEOUT_MS });
  });

  it('shares WAIT rounds among acceptances that arrive together, so each waits for at most two', async () => {
    const waits = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(await impatient.service.redis.info('commandstats'))?.[1] ?? 0);
    const before = await waits();
    replica.pause();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, index) => post(impatient, `together-${index}`)),
    );
    expect(answers.map((answer) => answer.json().error)).toEqual(Array(10).fill('NOT_REPLICATED'));
    // One round per acceptance would be 10 WAITs one after another; arrivals during a round join the next.
    expect((await waits()) - before).toBeLessThanOrEqual(3);
  });

  it('counts no replica for a purge whose record is not on the primary (a failover lost it)', async () => {
    const connection = new Redis(primary.url);
    try {
      const waiter = createReplicaWaiter({
        connection,
        prefix: patient.service.config.redis.prefix,
        replicas: 1,
        timeoutMs: 5_000,
      });
      const accepted = await post(patient, 'rev-3');
      expect(accepted.statusCode).toBe(202);
      const { id } = accepted.json() as { id: string };
      // With the replica up, the purge the API accepted is confirmed; one the primary never had is not.
      expect(await waiter.acknowledged(id)).toEqual({ acknowledged: 1, required: 1 });
      expect(await waiter.acknowledged('00000000-0000-4000-8000-000000000000')).toEqual({
        acknowledged: 0,
        required: 1,
        problem: expect.stringContaining('not on the primary'),
      });
    } finally {
      connection.disconnect();
    }
  });
});
