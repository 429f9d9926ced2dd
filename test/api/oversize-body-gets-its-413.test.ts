import { type AddressInfo, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { uploadFromAnotherThread } from '../harness/upload-client.ts';

const MIB = 1024 * 1024;
const DRAIN_TIMEOUT_MS = 2_000;
const HEADERS = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
const purges = (port: number) => `http://127.0.0.1:${port}/v1/purges`;

/**
 * Over a real socket: a client still sending a body the server has refused must get to read the refusal.
 * A server that answers and closes mid-upload makes the client's kernel throw the answer away (the close
 * turns into a reset while data is still arriving), so the client sees "fetch failed" instead of a 413.
 */
describe('a request body over api.bodyLimitBytes', () => {
  let api: TestApi;
  let port: number;

  beforeAll(async () => {
    api = await startTestApi('http://127.0.0.1:1', {
      api: {
        tokens: [API_TOKEN],
        webhook: { secret: WEBHOOK_SECRET },
        bodyLimitBytes: MIB,
        drainLimitBytes: 32 * MIB,
        // Generous: a loaded 2-core machine once took over 500 ms to push one 20 MiB upload through.
        drainTimeoutMs: DRAIN_TIMEOUT_MS,
      },
    });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    port = (api.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await api?.close();
  });

  const refusal = { status: 413, body: expect.stringContaining('"error":"PAYLOAD_TOO_LARGE"') };

  it('gets its 413 PAYLOAD_TOO_LARGE every time: 20 MiB, 50 tries, with its length declared', async () => {
    const outcomes = await uploadFromAnotherThread({
      url: purges(port),
      headers: HEADERS,
      bytes: 20 * MIB,
      tries: 50,
    });
    expect(outcomes).toEqual(Array.from({ length: 50 }, () => ({ ...refusal, closed: false })));
  });

  it('gets its 413 every time when the body comes chunked, with no length declared', async () => {
    const outcomes = await uploadFromAnotherThread({
      url: purges(port),
      headers: HEADERS,
      bytes: 20 * MIB,
      tries: 20,
      chunked: true,
    });
    expect(outcomes).toEqual(Array.from({ length: 20 }, () => ({ ...refusal, closed: false })));
  });

  it('is answered at once, and the connection closed, when it declares more than api.drainLimitBytes', async () => {
    const answer = await rawExchange(port, 64 * MIB, 'x'.repeat(1024));
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
  });

  it('is answered, and the connection closed, when the rest of the body does not come within api.drainTimeoutMs', async () => {
    const started = Date.now();
    const answer = await rawExchange(port, 2 * MIB, 'x'.repeat(1024));
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS - 100);
  });
});

/**
 * Sends headers declaring `declared` bytes and only `sent` of them, then waits for the server to answer
 * and close; resolves with everything it answered.
 */
function rawExchange(port: number, declared: number, sent: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(received).toString('latin1')));
    socket.write(
      [
        'POST /v1/purges HTTP/1.1',
        'Host: 127.0.0.1',
        `Authorization: Bearer ${API_TOKEN}`,
        'Content-Type: application/json',
        `Content-Length: ${declared}`,
        '',
        sent,
      ].join('\r\n'),
    );
  });
}
