import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeConfig } from '../cli/cli.ts';
import { type Child, spawnNode } from '../harness/child.ts';
import { jsonLines, LEVEL } from '../harness/log-lines.ts';
import { type SpawnedRedis, spawnRedisServer } from '../harness/redis-server.ts';
import { testConfigInput } from '../harness/service.ts';

let service: Child | undefined;
let redis: SpawnedRedis | undefined;
afterEach(async () => {
  service?.process.kill('SIGKILL');
  await redis?.stop();
});

describe('a Redis outage in the log', () => {
  it('is one error line, however many reconnects fail, and its end one "Redis reconnected" line', async () => {
    redis = await spawnRedisServer();
    const { port } = redis;
    const input = testConfigInput('http://127.0.0.1:9', { log: { level: 'debug' } });
    const configPath = await writeConfig({ ...input, redis: { ...input.redis, url: redis.url } });
    service = spawnNode('src/main.ts', ['--config', configPath], {});
    await service.printed('purge-worker started');
    const started = jsonLines(service.output()).find((line) => line.msg === 'purge-worker started');
    expect(started?.redis).toBe(`127.0.0.1:${port}`);
    // Redis has answered this process: what follows is an outage, not a Redis that was never there.
    await vi.waitFor(async () => expect((await fetch(`${started?.address}/readyz`)).status).toBe(200));

    await redis.stop();
    await service.printed(`Redis at 127.0.0.1:${port} lost; retrying until it answers`);
    // Workers and connections keep failing meanwhile: each failure is a debug line, no more.
    const failures = () =>
      jsonLines(service?.output() ?? '').filter(
        (line) => line.level === LEVEL.debug && /ECONNREFUSED|Connection is closed/.test(String(line.err)),
      );
    await vi.waitFor(() => expect(failures().length).toBeGreaterThan(10), { timeout: 10_000 });
    const errors = jsonLines(service.output()).filter((line) => Number(line.level) >= LEVEL.error);
    expect(errors.map((line) => line.msg)).toEqual([
      `Redis at 127.0.0.1:${port} lost; retrying until it answers`,
    ]);
    expect(service.output()).not.toContain('"stack"');

    redis = await spawnRedisServer([], port);
    await service.printed('Redis reconnected');
    const reconnected = jsonLines(service.output()).filter((line) => line.msg === 'Redis reconnected');
    expect(reconnected).toHaveLength(1);
    expect(reconnected[0]).toMatchObject({ level: LEVEL.info, redis: `127.0.0.1:${port}` });
    expect(reconnected[0]?.downMs).toBeGreaterThan(0);

    service.process.kill('SIGTERM');
    expect(await service.exited()).toBe(0);
  });
});
