import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { sample } from '../harness/prometheus-text.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';

describe('callback deliveries and rate-limit pauses on a scrape', () => {
  let simulator: Simulator;
  let receiver: Receiver;
  let api: TestApi;
  let flakyFailuresLeft = 1;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 20 }));
    // /flaky fails its first delivery, /down every one.
    receiver = await startReceiver((req, res) => {
      const failing = req.url === '/down' || (req.url === '/flaky' && flakyFailuresLeft-- > 0);
      res.statusCode = failing ? 503 : 204;
      res.end();
    });
    api = await startTestApi(
      simulator.url,
      {
        // A 429's pause capped short, so the test waits for it briefly.
        cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), policy: { maxRetryAfterMs: 100 } }],
        callbacks: { initialIntervalMs: 20, maxIntervalMs: 50, attempts: 2, allowHosts: ['127.0.0.1'] },
      },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    await receiver.close();
    await simulator.close();
  });

  const scrape = async () => (await api.app.inject({ url: '/metrics' })).body;
  const purge = async (url: string, callbackUrl: string) => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: [url], callbackUrl },
    });
    expect(response.statusCode).toBe(202);
    return (response.json() as { id: string }).id;
  };

  it('counts each delivery by outcome: delivered, retrying, and failed once out of attempts', async () => {
    await purge('https://www.example.com/cb-flaky.html', `${receiver.url}/flaky`);
    await purge('https://www.example.com/cb-down.html', `${receiver.url}/down`);
    const outcome = (text: string, name: string) =>
      sample(text, 'purge_worker_callbacks_total', { outcome: name }) ?? 0;
    // Deliveries end after the purges do: wait on the counters themselves.
    const text = await vi.waitFor(
      async () => {
        const body = await scrape();
        expect(outcome(body, 'delivered') + outcome(body, 'failed')).toBe(2);
        return body;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect(outcome(text, 'delivered')).toBe(1);
    expect(outcome(text, 'failed')).toBe(1);
    expect(outcome(text, 'retrying')).toBe(2);
    expect(receiver.received.map((request) => request.url).sort()).toEqual([
      '/down',
      '/down',
      '/flaky',
      '/flaky',
    ]);
  });

  it("counts a queue paused on a CDN's 429", async () => {
    const before = sample(await scrape(), 'purge_worker_rate_limit_pauses_total', { cdn: 'vims-main' }) ?? 0;
    simulator.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '30' });
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/rate-limited.html'],
    });
    expect((await api.service.waitForFinish(id)).state).toBe('succeeded');
    const text = await scrape();
    expect(sample(text, 'purge_worker_rate_limit_pauses_total', { cdn: 'vims-main' })).toBe(before + 1);
    expect(
      sample(text, 'purge_worker_cdn_requests_total', { cdn: 'vims-main', op: 'submit', outcome: '4xx' }),
    ).toBe(1);
  });
});
