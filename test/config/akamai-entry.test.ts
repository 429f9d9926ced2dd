import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { MASK, maskSecrets } from '../../src/config/mask.ts';

const ENTRY = {
  id: 'akamai',
  provider: 'akamai',
  baseUrl: 'https://akab-xxxx.luna.akamaiapis.net',
  clientToken: '${AKAMAI_CLIENT_TOKEN}',
  clientSecret: '${AKAMAI_CLIENT_SECRET}',
  accessToken: '${AKAMAI_ACCESS_TOKEN}',
};
const ENV = {
  AKAMAI_CLIENT_TOKEN: 'akab-client-token-from-env',
  AKAMAI_CLIENT_SECRET: 'client-secret-from-env=',
  AKAMAI_ACCESS_TOKEN: 'akab-access-token-from-env',
};

describe('an Akamai CDN entry', () => {
  it('takes its credentials from the environment, with production and invalidate by default', () => {
    const config = parseConfig({ redis: { url: 'redis://127.0.0.1:6379' }, cdns: [ENTRY] }, ENV);
    expect(config.cdns[0]).toMatchObject({
      provider: 'akamai',
      clientToken: ENV.AKAMAI_CLIENT_TOKEN,
      clientSecret: ENV.AKAMAI_CLIENT_SECRET,
      accessToken: ENV.AKAMAI_ACCESS_TOKEN,
      network: 'production',
      maxBodyBytes: 50_000,
    });
    expect(config.cdns[0]).not.toHaveProperty('action');
  });

  it('masks all three EdgeGrid credentials in a printed config', () => {
    const config = parseConfig({ redis: { url: 'redis://127.0.0.1:6379' }, cdns: [ENTRY] }, ENV);
    const printed = JSON.stringify(maskSecrets(config));
    for (const value of Object.values(ENV)) expect(printed).not.toContain(value);
    expect(printed).toContain(`"clientSecret":"${MASK}"`);
  });

  it('refuses unknown keys, a network Akamai has not, and a body limit over 50,000 bytes', () => {
    for (const extra of [{ hostname: 'x' }, { network: 'beta' }, { maxBodyBytes: 50_001 }]) {
      expect(() =>
        parseConfig({ redis: { url: 'redis://127.0.0.1:6379' }, cdns: [{ ...ENTRY, ...extra }] }, ENV),
      ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
