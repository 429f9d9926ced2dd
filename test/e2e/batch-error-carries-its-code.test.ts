import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

describe("a batch's error", () => {
  let simulator: Simulator;
  let api: TestApi;
  let receiver: Server;
  let callbackUrl: string;
  const callbacks: PurgeStatus[] = [];

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 0 } });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        callbacks.push(JSON.parse(body) as PurgeStatus);
        res.statusCode = 204;
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/done`;
    api = await startTestApi(
      simulator.url,
      { callbacks: { initialIntervalMs: 20, allowHosts: ['127.0.0.1'] } },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    receiver.close();
    await simulator.close();
  });

  it('carries its stable code beside the reason: in the status API, the outcome log line and the callback', async () => {
    simulator.vims.faults.inject('submit', {
      kind: 'status',
      status: 401,
      body: '{"message":"invalid token","status":"error"}',
    });
    const accepted = await api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/refused.html'], callbackUrl },
    });
    const { id } = accepted.json<{ id: string }>();
    await api.service.waitForFinish(id);

    const shown = await api.app.inject({
      method: 'GET',
      url: `/v1/purges/${id}`,
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    const [batch] = shown.json<PurgeStatus>().batches;
    expect(batch).toMatchObject({ state: 'failed', errorCode: 'CDN_AUTH' });
    expect(batch?.error).toMatch(/HTTP 401 — invalid token/);

    const outcome = await vi.waitFor(() => {
      const line = api.service.logs.find((l) => l.batchId === batch?.batchId && l.msg === 'purge failed');
      if (!line) throw new Error('no outcome line yet');
      return line;
    });
    expect(outcome).toMatchObject({ state: 'failed', code: 'CDN_AUTH' });

    const payload = await vi.waitFor(
      () => {
        const delivered = callbacks.find((c) => c.id === id);
        if (!delivered) throw new Error('no callback yet');
        return delivered;
      },
      { timeout: 5_000, interval: 20 },
    );
    expect(payload.batches[0]).toMatchObject({ state: 'failed', errorCode: 'CDN_AUTH' });
  });

  it('loses its code together with its reason once a retry gets through', async () => {
    simulator.vims.faults.inject('submit', { kind: 'status', status: 503, retryAfter: '1' });
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/flaky.html'],
    });
    await vi.waitFor(
      async () =>
        expect((await api.service.runtime.store.get(id))?.batches[0]).toMatchObject({
          state: 'submitting',
          errorCode: 'CDN_UNAVAILABLE',
          error: expect.stringMatching(/HTTP 503/),
        }),
      { timeout: 5_000, interval: 20 },
    );

    const [batch] = (await api.service.waitForFinish(id)).batches;
    expect(batch?.state).toBe('succeeded');
    expect(batch).not.toHaveProperty('error');
    expect(batch).not.toHaveProperty('errorCode');
  });
});
