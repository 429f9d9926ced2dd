import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { API_TOKEN } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';

/**
 * A Redis that accepts the connection and then never answers (a hung server, a half-dead proxy): unlike a
 * refused connection, nothing ever fails by itself, so a producer without a bound on its commands waits for
 * ever and so does the CMS calling the API.
 */
describe('the API while Redis accepts connections but never answers', () => {
  let blackHole: Server;
  const sockets = new Set<Socket>();
  let runtime: Runtime;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {}); // read and drop every command: never a reply
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const { port } = blackHole.address() as { port: number };
    const input = testConfigInput('http://127.0.0.1:9', {}, [VIMS_RIG.cdnEntry('http://127.0.0.1:9')]);
    const config = parseConfig(
      {
        ...input,
        redis: { ...input.redis, url: `redis://127.0.0.1:${port}` },
        api: { ...input.api, tokens: [API_TOKEN] },
      },
      {},
    );
    runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
    app = await buildApp({ runtime, log: createLogger({ level: 'silent' }) });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.race([
      app.close().then(() => runtime.close()),
      new Promise((resolve) => setTimeout(resolve, 3_000)),
    ]);
    await new Promise<void>((resolve) => blackHole.close(() => resolve()));
  });

  it('answers a purge with 503 REDIS_UNAVAILABLE within the producer command bound, not never', async () => {
    const started = performance.now();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/a.html'] },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: 'REDIS_UNAVAILABLE' });
    // The bound is 5 s a command; the test's own timeout (30 s) is what a hang would hit.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('reports not ready within the same bound', async () => {
    const started = performance.now();
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
