import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

// An orchestrator probes every few seconds: those lines must not bury the requests that matter at info.
describe('the API log', () => {
  let service: TestService;
  let app: FastifyInstance;
  const lines: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    service = startTestService(testConfigInput('http://127.0.0.1:9'), { workers: false });
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    app = await buildApp({
      runtime: service.runtime,
      log: createLogger({ level: 'debug', destination: sink }),
    });
  });
  afterAll(async () => {
    await app.close();
    await service.close();
  });

  const completed = (url: string) =>
    lines.filter((line) => line.msg === 'request completed' && line.url === url).map((line) => line.level);

  it('has health probes at debug (with a query string too) and every other request at info', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz?probe=k8s' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/purges/some-id' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/healthz-not-a-probe' })).statusCode).toBe(404);

    const DEBUG = 20;
    const INFO = 30;
    expect(completed('/healthz')).toEqual([DEBUG]);
    expect(completed('/readyz')).toEqual([DEBUG]);
    expect(completed('/readyz?probe=k8s')).toEqual([DEBUG]);
    expect(completed('/v1/purges/some-id')).toEqual([INFO]);
    expect(completed('/healthz-not-a-probe')).toEqual([INFO]);
  });

  it('warns at start-up when no api.tokens are configured (every purge call is refused), not otherwise', async () => {
    const warnings = () => lines.filter((line) => String(line.msg).startsWith('no api.tokens configured'));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ level: 40 });
    expect(warnings()[0]?.msg).toContain('every call to /v1/purges is refused (401 UNAUTHORIZED)');

    const withTokens = startTestService(
      testConfigInput('http://127.0.0.1:9', { api: { tokens: ['a-token-of-sixteen-chars'] } }),
      { workers: false },
    );
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const other = await buildApp({
      runtime: withTokens.runtime,
      log: createLogger({ level: 'debug', destination: sink }),
    });
    await other.close();
    await withTokens.close();
    expect(warnings()).toHaveLength(1);
  });
});
