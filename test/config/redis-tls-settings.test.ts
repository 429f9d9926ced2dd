import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { tlsOptions } from '../../src/queue/connection.ts';

const vims = {
  id: 'vims-main',
  provider: 'vims',
  baseUrl: 'http://127.0.0.1:1',
  token: 'sk_live_x',
  cdnId: 1,
};
const withRedis = (redis: Record<string, unknown>) => () => parseConfig({ redis, cdns: [vims] }, {});

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PurgeError);
    expect((error as PurgeError).code).toBe('CONFIG_INVALID');
    return (error as PurgeError).message;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('Redis TLS settings', () => {
  it('verify the server by default, with the CA file when one is given', async () => {
    const config = withRedis({ url: 'rediss://127.0.0.1:6380', tls: { caFile: '/etc/ssl/redis-ca.pem' } })();
    expect(config.redis.tls).toEqual({ caFile: '/etc/ssl/redis-ca.pem', rejectUnauthorized: true });
    const dir = await mkdtemp(join(tmpdir(), 'pw-ca-'));
    await writeFile(join(dir, 'ca.pem'), 'PEM');
    expect(tlsOptions({ caFile: join(dir, 'ca.pem'), rejectUnauthorized: true })).toEqual({
      ca: Buffer.from('PEM'),
      rejectUnauthorized: true,
    });
    expect(tlsOptions(undefined)).toEqual({ rejectUnauthorized: true });
  });

  it('refuse cluster seeds that mix redis:// and rediss://', () => {
    const message = messageOf(
      withRedis({ url: 'redis://x', clusterNodes: ['rediss://127.0.0.1:7000', 'redis://127.0.0.1:7001'] }),
    );
    expect(message).toContain('redis.clusterNodes: seeds must all be rediss:// (TLS) or all redis://');
  });

  it('refuse TLS settings that no rediss:// URL would use', () => {
    expect(messageOf(withRedis({ url: 'redis://127.0.0.1:6379', tls: {} }))).toContain(
      'redis.tls: is set, but redis.url is not rediss:// (TLS)',
    );
    expect(
      messageOf(withRedis({ url: 'rediss://x', clusterNodes: ['redis://127.0.0.1:7000'], tls: {} })),
    ).toContain('redis.tls: is set, but redis.clusterNodes are not rediss:// (TLS)');
  });

  it('refuse an unknown TLS key instead of ignoring a typo', () => {
    expect(messageOf(withRedis({ url: 'rediss://x', tls: { caFlie: '/ca.pem' } }))).toContain('redis.tls');
  });

  it('name the field when the CA file cannot be read', () => {
    expect(messageOf(() => tlsOptions({ caFile: '/nonexistent/ca.pem', rejectUnauthorized: true }))).toMatch(
      /^redis\.tls\.caFile: cannot read \/nonexistent\/ca\.pem: ENOENT/,
    );
  });
});
