import { describe, expect, it } from 'vitest';
import { writeConfig } from '../cli/cli.ts';
import { spawnNode } from '../harness/child.ts';
import { testConfigInput } from '../harness/service.ts';
import { closedPort } from '../harness/unreachable-redis.ts';

describe('SIGTERM while Redis does not answer', () => {
  it('exits 1 once the grace period and the margin after it have passed, instead of waiting for ever', async () => {
    const base = testConfigInput('http://127.0.0.1:9', { log: { level: 'info' } });
    const configPath = await writeConfig({
      ...base,
      redis: { ...base.redis, url: `redis://127.0.0.1:${await closedPort()}` },
      worker: { ...base.worker, shutdownGraceMs: 200 },
    });
    const service = spawnNode('src/main.ts', ['--config', configPath], {});
    await service.printed('purge-worker started');

    const signalled = performance.now();
    service.process.kill('SIGTERM');
    expect(await service.exited()).toBe(1);
    // Grace (200 ms) and margin (5 s): not before, and not much after.
    expect(performance.now() - signalled).toBeGreaterThan(5_000);
    expect(performance.now() - signalled).toBeLessThan(15_000);
    expect(service.output()).toContain('shutdown did not finish within 5200 ms (is Redis unreachable?)');
  });
});
