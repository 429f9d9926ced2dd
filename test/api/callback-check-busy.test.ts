import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HostLookup } from '../../src/net/address-guard.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

/**
 * Callback host names whose lookups never answer (injected, no real DNS) must not pile up on libuv's
 * thread pool, which the CDN calls and Redis reconnects of the same process need too.
 */
describe('a purge whose callback host cannot be checked now', () => {
  let simulator: Simulator;
  let api: TestApi;
  const asked: string[] = [];
  const neverAnswers: HostLookup = (hostname) => {
    asked.push(hostname);
    return new Promise(() => {});
  };

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(simulator.url, { callbacks: { timeoutMs: 200 } }, { lookup: neverAnswers });
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

  it('is refused with 503 CALLBACK_CHECK_BUSY while the lookups allowed in flight hang, writing nothing', async () => {
    const before = await api.keys();
    const hanging = [purge('https://a.example.net/hook'), purge('https://b.example.net/hook')];
    await vi.waitFor(() => expect(asked).toHaveLength(2));
    const busy = await purge('https://c.example.net/hook');
    expect(busy.statusCode).toBe(503);
    expect(busy.json()).toMatchObject({
      error: 'CALLBACK_CHECK_BUSY',
      message: expect.stringContaining('c.example.net'),
    });
    expect(asked).toEqual(['a.example.net', 'b.example.net']);
    for (const response of await Promise.all(hanging)) expect(response.statusCode).toBe(400);
    expect(await api.keys()).toEqual(before);
  });
});
