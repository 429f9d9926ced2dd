import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeConfig } from '../cli/cli.ts';
import { type Child, spawnNode } from '../harness/child.ts';
import { jsonLines, LEVEL } from '../harness/log-lines.ts';
import { testConfigInput } from '../harness/service.ts';
import { closedPort } from '../harness/unreachable-redis.ts';

let service: Child | undefined;
afterEach(() => {
  service?.process.kill('SIGKILL');
});

describe('starting with no Redis answering', () => {
  it('names the Redis (never its password) and says once how to get one, however long it retries', async () => {
    const port = await closedPort();
    const input = testConfigInput('http://127.0.0.1:9', { log: { level: 'info' } });
    const configPath = await writeConfig({
      ...input,
      redis: { ...input.redis, url: `redis://ops:hunter2-redis-password@127.0.0.1:${port}` },
    });
    // LOG_LEVEL over the file's info: the retries' debug lines show it retrying all along.
    service = spawnNode('src/main.ts', ['--config', configPath], { LOG_LEVEL: 'debug' });
    await service.printed('purge-worker started');
    const lines = () => jsonLines(service?.output() ?? '');
    expect(lines().find((line) => line.msg === 'purge-worker started')?.redis).toBe(`127.0.0.1:${port}`);

    await vi.waitFor(
      () => expect(lines().filter((line) => line.level === LEVEL.debug).length).toBeGreaterThan(10),
      { timeout: 10_000 },
    );
    const hints = lines().filter((line) =>
      String(line.msg).startsWith(`Redis at 127.0.0.1:${port} does not answer`),
    );
    expect(hints).toHaveLength(1);
    expect(hints[0]?.level).toBe(LEVEL.error);
    expect(hints[0]?.msg).toContain('`docker compose up -d redis`');
    expect(hints[0]?.msg).toContain('REDIS_URL');
    expect(lines().filter((line) => Number(line.level) >= LEVEL.error)).toHaveLength(1);
    expect(service.output()).not.toContain('hunter2');
  });
});
