import { beforeAll, describe, inject, it } from 'vitest';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { freePort } from '../harness/redis-server.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

describe('purge-worker when Redis is unreachable', () => {
  let downConfig: string;
  let upConfig: string;

  beforeAll(async () => {
    // No CDN is called before Redis answers, so the CDN address does not matter.
    const input = testConfigInput('http://127.0.0.1:9', {}, [VIMS_RIG.cdnEntry('http://127.0.0.1:9')]);
    // A loopback port nothing listens on: connections are refused at once.
    const closed = `redis://127.0.0.1:${await freePort()}`;
    downConfig = await writeConfig({ ...input, redis: { ...input.redis, url: closed } });
    upConfig = await writeConfig({ ...input, redis: { ...input.redis, url: inject('redisUrl') } });
  });

  it.concurrent.for([
    { command: 'purge', args: ['purge', 'https://www.example.com/a.html'] },
    { command: 'status', args: ['status', 'some-id'] },
  ])('$command exits 4 within a few seconds with a message', async ({ args }, { expect }) => {
    // Start-up alone takes seconds on a busy machine, so the time Redis being down adds is measured against
    // the same kind of command run alongside against a Redis that answers.
    const [down, baseline] = await Promise.all([
      runCli(['-c', downConfig, ...args], { killAfterMs: 25_000 }),
      runCli(['-c', upConfig, 'status', 'no-such-purge']),
    ]);
    expect(down.signal, `hung; output so far:\n${down.stdout}${down.stderr}`).toBeNull();
    expect(down.code).toBe(4);
    expect(baseline.code).toBe(3);
    expect(down.ms - baseline.ms).toBeLessThan(6_000);
    expect(down.stdout).toBe('');
    // One line naming Redis and where it was looked for; no library stack traces around it.
    expect(down.stderr).toMatch(/^purge-worker: cannot reach Redis at 127\.0\.0\.1:\d+: .+\n$/);
  });
});
