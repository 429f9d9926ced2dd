import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PurgeError } from '../../src/errors.ts';
import { createProducer, type Producer } from '../../src/library.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { writeConfig } from '../cli/cli.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { testConfigInput } from '../harness/service.ts';

const silent = createLogger({ level: 'silent' });

/** The library's producer over a real Redis: what it accepts, what it refuses, and that a refusal writes nothing. */
describe('createProducer (the package entry)', () => {
  const prefix = uniquePrefix();
  let producer: Producer;
  let redis: Redis;

  beforeAll(async () => {
    // A config file, its prefix filled from `env` as `purge-worker start` fills it from the environment.
    const input = testConfigInput('http://127.0.0.1:9', {
      redis: { url: inject('redisUrl'), prefix: '${LIBRARY_PREFIX}' },
      callbacks: { secret: 'library-callback-secret-0123' },
    });
    const path = await writeConfig(input);
    producer = await createProducer({ config: path, env: { LIBRARY_PREFIX: prefix }, log: silent });
    redis = new Redis(producer.config.redis.url);
  });
  afterAll(async () => {
    await producer?.close();
    redis?.disconnect();
  });

  it('enqueues a purge, canonicalised and routed, and reads its status as the API shows it', async () => {
    expect(producer.config.redis.prefix).toBe(prefix);
    const result = await producer.enqueue({ urls: ['https://WWW.example.com/lib/a.html#top'] });
    expect(result).toEqual({ id: expect.any(String), cdns: ['vims-main'], duplicate: false });
    const status = await producer.status(result.id);
    expect(status).toMatchObject({
      id: result.id,
      state: 'queued',
      label: 'https://www.example.com/lib/a.html',
    });
    expect(await producer.status('no-such-purge')).toBeUndefined();
  });

  it('answers a repeat of an idempotency key with the first purge', async () => {
    const request = { urls: ['https://www.example.com/lib/once.html'] };
    const first = await producer.enqueue(request, { idempotencyKey: 'lib-1' });
    const again = await producer.enqueue(request, { idempotencyKey: 'lib-1' });
    expect(again).toEqual({ ...first, duplicate: true });
  });

  it('makes the checks the API makes, and a refusal writes nothing', async () => {
    const before = (await redis.keys(`${prefix}*`)).filter((key) => !key.endsWith(':meta')).sort();
    const refusals = await Promise.all([
      producer.enqueue({ urls: ['ftp://www.example.com/x'] }).catch((e: unknown) => e),
      producer
        .enqueue({ urls: ['https://www.example.com/x'], callbackUrl: 'http://127.0.0.1:1/hook' })
        .catch((e: unknown) => e),
      producer.enqueue({ urls: ['https://elsewhere.test/x'] }).catch((e: unknown) => e),
    ]);
    for (const refusal of refusals) expect(refusal).toBeInstanceOf(PurgeError);
    expect(refusals.map((refusal) => (refusal as PurgeError).code)).toEqual([
      'REQUEST_INVALID',
      'CALLBACK_URL_FORBIDDEN',
      'REQUEST_INVALID',
    ]);
    const after = (await redis.keys(`${prefix}*`)).filter((key) => !key.endsWith(':meta')).sort();
    expect(after).toEqual(before);
  });

  it('refuses a config it cannot validate with CONFIG_INVALID, connecting to nothing', async () => {
    await expect(createProducer({ config: { cdns: [] }, log: silent })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});
