import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { VIMS_ENTRY } from './fixtures.ts';

const withRedis = (redis: Record<string, unknown>) => parseConfig({ redis, cdns: [VIMS_ENTRY] }, {});

function messageOf(redis: Record<string, unknown>): string {
  try {
    withRedis(redis);
  } catch (error) {
    expect(error).toBeInstanceOf(PurgeError);
    expect((error as PurgeError).code).toBe('CONFIG_INVALID');
    return (error as PurgeError).message;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('redis.waitReplicas', () => {
  it('is off unless set', () => {
    expect(withRedis({ url: 'redis://127.0.0.1:6379' }).redis.waitReplicas).toBeUndefined();
  });

  it('waits 500 ms unless told otherwise, on a standalone Redis and a cluster alike', () => {
    expect(withRedis({ url: 'redis://x', waitReplicas: { replicas: 1 } }).redis.waitReplicas).toEqual({
      replicas: 1,
      timeoutMs: 500,
    });
    const cluster = withRedis({
      url: 'redis://x',
      clusterNodes: ['redis://127.0.0.1:7000'],
      waitReplicas: { replicas: 2, timeoutMs: 2000 },
    });
    expect(cluster.redis.waitReplicas).toEqual({ replicas: 2, timeoutMs: 2000 });
  });

  it('needs at least one replica to wait for', () => {
    expect(messageOf({ url: 'redis://x', waitReplicas: {} })).toContain('redis.waitReplicas.replicas');
    expect(messageOf({ url: 'redis://x', waitReplicas: { replicas: 0 } })).toMatch(
      /redis\.waitReplicas\.replicas: .*>=\s?1/,
    );
  });

  it('refuses a timeout that is not bounded: 0 (WAIT would wait forever) and over 10 s', () => {
    expect(messageOf({ url: 'redis://x', waitReplicas: { replicas: 1, timeoutMs: 0 } })).toMatch(
      /redis\.waitReplicas\.timeoutMs: .*>=\s?1/,
    );
    expect(messageOf({ url: 'redis://x', waitReplicas: { replicas: 1, timeoutMs: 10_001 } })).toMatch(
      /redis\.waitReplicas\.timeoutMs: .*<=\s?10000/,
    );
  });

  it('names a typo with the key it was meant to be', () => {
    expect(messageOf({ url: 'redis://x', waitReplicas: { replicas: 1, timeout: 100 } })).toContain(
      'redis.waitReplicas.timeout: unknown key (did you mean "timeoutMs"?)',
    );
    expect(messageOf({ url: 'redis://x', waitreplicas: { replicas: 1 } })).toContain(
      'redis.waitreplicas: unknown key (did you mean "waitReplicas"?)',
    );
  });
});
