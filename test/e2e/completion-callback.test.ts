import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verify } from '../../src/callbacks/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

/** What the failing answer says; only its status may be kept anywhere. */
const RECEIVER_DETAIL = 'receiver-internal-detail-7f3a';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

describe('the completion callback', () => {
  let simulator: Simulator;
  let api: TestApi;
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  let failuresLeft = 1;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 50 } });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        // The first delivery fails, so the test also shows the callback is retried.
        const failing = failuresLeft-- > 0;
        res.statusCode = failing ? 503 : 204;
        res.end(failing ? RECEIVER_DETAIL : undefined);
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/purge-done`;
    api = await startTestApi(
      simulator.url,
      // The receiver is on loopback, which a callback may reach only when allowed.
      { callbacks: { initialIntervalMs: 20, maxIntervalMs: 50, attempts: 3, allowHosts: ['127.0.0.1'] } },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    receiver.close();
    await simulator.close();
  });

  it('POSTs the final status, signed, once the purge is terminal, retrying a failed delivery until its first 2xx', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/callback.html'], callbackUrl: receiverUrl },
    });
    expect(response.statusCode).toBe(202);
    const { id } = response.json<{ id: string }>();
    await api.service.waitForFinish(id);

    const delivered = await waitForDeliveries(2);
    const last = delivered[1] as Received;
    const payload = JSON.parse(last.body);
    expect(payload).toMatchObject({
      id,
      state: 'succeeded',
      batches: [{ cdnId: 'vims-main', state: 'succeeded' }],
    });
    expect(payload).not.toHaveProperty('callbackUrl');
    const check = verify(
      WEBHOOK_SECRET,
      {
        timestamp: String(last.headers[TIMESTAMP_HEADER]),
        signature: String(last.headers[SIGNATURE_HEADER]),
      },
      last.body,
      Math.floor(Date.now() / 1000),
      60,
    );
    expect(check).toEqual({ ok: true });

    const callbacks = api.service.runtime.queues().find((q) => q.name === 'callbacks');
    // The 2xx ends it: the job completes with that answer (a job that completed is never run again), after
    // the two deliveries, with attempts to spare that a retry would have used.
    const job = await vi.waitFor(
      async () => {
        // The state first, then the job: a job read while still active carries no return value yet.
        const state = await callbacks?.getJobState(`cb-${id}`);
        if (state !== 'completed' && state !== 'failed') throw new Error(`callback job is ${state}`);
        return callbacks?.getJob(`cb-${id}`);
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(await job?.getState()).toBe('completed');
    expect(job?.returnvalue).toEqual({ httpStatus: 204 });
    expect(received).toHaveLength(2);
    expect(await callbacks?.getJobCounts('waiting', 'delayed', 'active', 'failed')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      failed: 0,
    });
    expect(job?.stacktrace?.join('\n')).toContain('callback receiver answered HTTP 503');
    expect(`${api.service.rawLogs()}${JSON.stringify(job)}`).not.toContain(RECEIVER_DETAIL);
  });

  function waitForDeliveries(count: number): Promise<Received[]> {
    return vi.waitFor(
      () => {
        if (received.length < count) throw new Error(`${received.length} deliveries so far`);
        return received;
      },
      { timeout: 10_000, interval: 20 },
    );
  }
});
