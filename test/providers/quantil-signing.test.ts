import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authHeaders, rfc1123Date, signDate } from '../../src/providers/quantil/signing.ts';

const DOC_DATE = 'Thu, 07 Aug 2014 18:46:21 GMT';
const AT = new Date(Date.UTC(2014, 7, 7, 18, 46, 21));

function basicParts(authorization: string): [string, string] {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(authorization);
  expect(match).not.toBeNull();
  const decoded = Buffer.from(match?.[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

describe('QUANTIL request signing', () => {
  it('formats the Date header as RFC 1123 GMT', () => {
    expect(rfc1123Date(AT)).toBe(DOC_DATE);
  });

  it('signs the date with HMAC-SHA1 keyed by the api key, base64-encoded', () => {
    const expected = createHmac('sha1', 'secret-key').update(DOC_DATE).digest('base64');
    expect(signDate('secret-key', DOC_DATE)).toBe(expected);
    // Pinned once so a change of algorithm, key/data order or encoding fails here.
    expect(signDate('secret-key', DOC_DATE)).toBe('IUqd3SNoSGDRFH1CNT2fjksQXdQ=');
    expect(signDate('secret-key', DOC_DATE)).toHaveLength(28);
    expect(signDate('other-key', DOC_DATE)).not.toBe(expected);
    expect(signDate('secret-key', 'Thu, 07 Aug 2014 18:46:22 GMT')).not.toBe(expected);
  });

  it('sends Basic base64(user:signature) and signs exactly the Date it sends', () => {
    const headers = authHeaders('test', 'secret-key', AT);
    expect(headers.date).toBe(DOC_DATE);
    const [user, password] = basicParts(headers.authorization);
    expect(user).toBe('test');
    expect(password).toBe(createHmac('sha1', 'secret-key').update(headers.date).digest('base64'));
    expect(headers.authorization).toBe(
      `Basic ${Buffer.from('test:IUqd3SNoSGDRFH1CNT2fjksQXdQ=').toString('base64')}`,
    );
  });

  it('encodes a non-ASCII user name as UTF-8', () => {
    const [user] = basicParts(authHeaders('bücher', 'k', AT).authorization);
    expect(user).toBe('bücher');
  });
});
