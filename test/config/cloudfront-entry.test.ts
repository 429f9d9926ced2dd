import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { MASK, maskSecrets } from '../../src/config/mask.ts';

const ENTRY = {
  id: 'cloudfront',
  provider: 'cloudfront',
  baseUrl: 'https://cloudfront.amazonaws.com',
  distributionId: 'EDFDVBD632BHDS5',
  accessKeyId: '${AWS_ACCESS_KEY_ID}',
  secretAccessKey: '${AWS_SECRET_ACCESS_KEY}',
  sessionToken: '${AWS_SESSION_TOKEN}',
};
const ENV = {
  AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEFROMENV01',
  AWS_SECRET_ACCESS_KEY: 'secret-access-key-from-env',
  AWS_SESSION_TOKEN: 'session-token-from-env',
};
const parse = (entry: Record<string, unknown>) =>
  parseConfig({ redis: { url: 'redis://127.0.0.1:6379' }, cdns: [entry] }, ENV);

describe('a CloudFront CDN entry', () => {
  it('takes its credentials from the environment, signing in us-east-1 by default', () => {
    expect(parse(ENTRY).cdns[0]).toMatchObject({
      provider: 'cloudfront',
      accessKeyId: ENV.AWS_ACCESS_KEY_ID,
      secretAccessKey: ENV.AWS_SECRET_ACCESS_KEY,
      sessionToken: ENV.AWS_SESSION_TOKEN,
      region: 'us-east-1',
    });
  });

  it('masks the secret access key and the session token in a printed config', () => {
    const printed = JSON.stringify(maskSecrets(parse(ENTRY)));
    expect(printed).not.toContain(ENV.AWS_SECRET_ACCESS_KEY);
    expect(printed).not.toContain(ENV.AWS_SESSION_TOKEN);
    expect(printed).toContain(`"secretAccessKey":"${MASK}"`);
    expect(printed).toContain(`"sessionToken":"${MASK}"`);
  });

  it('refuses unknown keys and a per-call cap over the in-progress budget', () => {
    for (const extra of [{ bucket: 'x' }, { maxItemsPerCall: 3001 }, { distributionId: 'e/1' }]) {
      expect(() => parse({ ...ENTRY, ...extra })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }),
      );
    }
  });
});
