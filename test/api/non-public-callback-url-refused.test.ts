import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostLookup } from '../../src/net/address-guard.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, publishSigned, startTestApi, type TestApi } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

/**
 * Host names resolve from this table, as data: nothing here uses real DNS, and no worker runs, so no
 * accepted callback is ever delivered. Every address below is only compared, never dialled.
 */
const DNS: Record<string, LookupAddress[]> = {
  'metadata.example.net': [{ address: '169.254.169.254', family: 4 }],
  'rebind.example.net': [
    { address: '93.184.215.14', family: 4 },
    { address: '10.0.0.1', family: 4 },
  ],
  'mapped.example.net': [{ address: '::ffff:127.0.0.1', family: 6 }],
  'cms.example.net': [{ address: '93.184.215.14', family: 4 }],
  'cms.internal': [{ address: '10.1.2.3', family: 4 }],
};
const lookup: HostLookup = async (hostname) => {
  const answer = DNS[hostname];
  if (answer) return answer;
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
};

describe('a callback URL that reaches a non-public address', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(
      simulator.url,
      { callbacks: { allowHosts: ['cms.internal', '10.20.0.0/16'] } },
      { lookup },
    );
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const purge = (callbackUrl: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/a.html'], callbackUrl },
    });

  it.each([
    ['loopback, with a port', 'http://127.0.0.1:6379/', /127\.0\.0\.1 is a loopback address/],
    ['loopback in hex', 'http://0x7f000001/', /127\.0\.0\.1 is a loopback address/],
    ['loopback in decimal', 'http://2130706433/', /127\.0\.0\.1 is a loopback address/],
    ['loopback in octal', 'http://0177.0.0.1/', /127\.0\.0\.1 is a loopback address/],
    ['IPv6 loopback', 'http://[::1]:8080/admin/queues/api/queues', /::1 is a loopback address/],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/', /maps to 127\.0\.0\.1, a loopback address/],
    ['cloud metadata (link-local)', 'http://169.254.169.254/latest/meta-data/', /link-local/],
    ['a private address', 'https://192.168.1.10/hook', /a private address/],
    ['a unique-local IPv6 address', 'http://[fd12:3456::1]/', /unique-local/],
    ['the unspecified address', 'http://0.0.0.0/', /unspecified/],
    ['a multicast address', 'http://224.0.0.1/', /multicast/],
    ['a name that resolves to link-local', 'http://metadata.example.net/', /resolves to 169\.254/],
    ['a name with one private answer among public ones', 'http://rebind.example.net/', /10\.0\.0\.1/],
    ['a name that resolves to IPv4-mapped loopback', 'http://mapped.example.net/', /loopback/],
  ])('is refused with 400 CALLBACK_URL_FORBIDDEN: %s', async (_name, callbackUrl, reason) => {
    const before = await api.keys();
    const response = await purge(callbackUrl);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({
      error: 'CALLBACK_URL_FORBIDDEN',
      message: expect.stringMatching(reason),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('is refused on the CMS webhook too', async () => {
    const response = await publishSigned(api.app, {
      eventId: 'article-1',
      urls: ['https://www.example.com/a.html'],
      callbackUrl: 'http://[::1]/',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'CALLBACK_URL_FORBIDDEN' });
  });

  it('is refused with 400 REQUEST_INVALID when its host does not resolve', async () => {
    const before = await api.keys();
    const response = await purge('https://nowhere.example.net/hook');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'REQUEST_INVALID',
      message: 'callbackUrl host nowhere.example.net does not resolve (ENOTFOUND)',
    });
    expect(await api.keys()).toEqual(before);
  });

  it.each([
    ['a public host name', 'https://cms.example.net/hook'],
    ['a private host name on callbacks.allowHosts', 'http://cms.internal/hook'],
    ['a private address inside an allowed CIDR', 'http://10.20.1.1:8080/hook'],
  ])('is accepted when it is %s', async (_name, callbackUrl) => {
    const response = await purge(callbackUrl);
    expect(response.statusCode).toBe(202);
  });
});
