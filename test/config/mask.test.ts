import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { MASK, maskSecrets } from '../../src/config/mask.ts';
import { QUANTIL_ENTRY, VIMS_ENTRY } from './fixtures.ts';

const SECRETS = {
  vimsToken: 'sk_live_vims-secret-token',
  quantilKey: 'quantil-secret-api-key',
  apiToken: 'api-secret-token-0123456789',
  webhook: 'webhook-secret-0123456789',
  callbacks: 'callback-secret-0123456789',
  dashboard: 'dashboard-secret-password',
  redis: 'redis-secret-password',
  clusterPassword: 'cluster-secret-password',
  edgeHeader: 'edge-secret-header-value',
};

describe('maskSecrets (config check)', () => {
  it('masks every credential and Redis password, and keeps everything else as resolved', () => {
    const config = parseConfig({
      redis: {
        url: `redis://ops:${SECRETS.redis}@10.0.0.5:6380/2`,
        clusterNodes: [`redis://ops:${SECRETS.clusterPassword}@10.0.0.1:6379`, 'redis://10.0.0.2:6379'],
      },
      cdns: [
        {
          ...VIMS_ENTRY,
          token: SECRETS.vimsToken,
          verify: {
            edges: [{ address: '127.0.0.1' }],
            headers: { Authorization: SECRETS.edgeHeader, 'X-Debug': 'on' },
          },
        },
        { ...QUANTIL_ENTRY, apiKey: SECRETS.quantilKey },
      ],
      api: { tokens: [{ name: 'cms', token: SECRETS.apiToken }], webhook: { secret: SECRETS.webhook } },
      callbacks: { secret: SECRETS.callbacks },
      dashboard: { users: [{ username: 'ops', password: SECRETS.dashboard }] },
    });
    const masked = maskSecrets(config) as typeof config;
    const text = JSON.stringify(masked);
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);

    expect(masked.redis.url).toBe(`redis://ops:${MASK}@10.0.0.5:6380/2`);
    expect(masked.redis.clusterNodes).toEqual([`redis://ops:${MASK}@10.0.0.1:6379`, 'redis://10.0.0.2:6379']);
    expect(masked.cdns[0]).toMatchObject({ token: MASK, cdnId: '101', id: 'vims-main' });
    expect(masked.cdns[0]?.verify?.headers).toEqual({ Authorization: MASK, 'X-Debug': 'on' });
    expect(masked.cdns[1]).toMatchObject({ apiKey: MASK, user: 'demo' });
    expect(masked.api.tokens).toEqual([{ name: 'cms', token: MASK }]);
    expect(masked.api.webhook.secret).toBe(MASK);
    expect(masked.callbacks.secret).toBe(MASK);
    expect(masked.dashboard.users).toEqual([{ username: 'ops', password: MASK }]);
    // Not a secret, and left as resolved: the defaults filled in.
    expect(masked.worker.shutdownGraceMs).toBe(20_000);
  });

  it("masks a secret held in an object's value (Varnish's shared-secret header), keeping the header's name", () => {
    const value = 'varnish-shared-secret-0123456789';
    const config = parseConfig({
      cdns: [
        {
          id: 'varnish-main',
          provider: 'varnish',
          baseUrl: 'http://127.0.0.1:6081',
          secret: { header: 'x-purge-token', value },
        },
      ],
    });
    const masked = maskSecrets(config) as { cdns: Array<{ secret: unknown }> };
    expect(JSON.stringify(masked)).not.toContain(value);
    expect(masked.cdns[0]?.secret).toEqual({ header: 'x-purge-token', value: MASK });
  });
});
