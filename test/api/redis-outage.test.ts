import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { API_TOKEN } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { freePort } from '../harness/redis-server.ts';
import { testConfigInput } from '../harness/service.ts';

describe('the API while Redis is down', () => {
  let runtime: Runtime;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    // A loopback port nothing listens on: every Redis command fails to connect.
    const input = testConfigInput('http://127.0.0.1:9', {}, [VIMS_RIG.cdnEntry('http://127.0.0.1:9')]);
    const config = parseConfig(
      {
        ...input,
        redis: { ...input.redis, url: `redis://127.0.0.1:${await freePort()}` },
        api: { ...input.api, tokens: [API_TOKEN] },
      },
      {},
    );
    runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
    app = await buildApp({ runtime, log: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    await app.close();
    await runtime.close();
  });

  it('answers a purge with 503 REDIS_UNAVAILABLE instead of hanging', async () => {
    const started = performance.now();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/a.html'] },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      error: 'REDIS_UNAVAILABLE',
      message: expect.stringMatching(/nothing was enqueued/),
    });
    // Hanging is what a producer that waits out the outage would do (the workers' connections do): the answer
    // comes after a couple of refused reconnects, a fraction of a second; 5 s is far beyond that even on a
    // loaded machine, and far below the 30 s a hanging request would take to fail the test by its timeout.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('reports not ready, while still live', async () => {
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });
});
