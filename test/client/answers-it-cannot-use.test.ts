import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createPurgeClient, PurgeApiError, type PurgeClient } from '../../src/client/index.ts';

const TOKEN = 'client-test-token-4242';

/** A loopback stand-in for the API (or a proxy before it), answering what the real one cannot be made to. */
async function fakeApi(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

describe('purge-worker/client when no usable answer comes', () => {
  const servers: Server[] = [];
  const clients: PurgeClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    for (const server of servers.splice(0)) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
  function clientOf(url: string, timeoutMs = 2_000) {
    const client = createPurgeClient({ baseUrl: url, token: TOKEN, timeoutMs });
    clients.push(client);
    return client;
  }

  it('is API_UNREACHABLE, retryable and without a status, when nothing listens', async () => {
    const { server, url } = await fakeApi(() => {});
    await new Promise((resolve) => server.close(resolve));
    const error = await clientOf(url)
      .status('p1')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PurgeApiError);
    expect(error).toMatchObject({ code: 'API_UNREACHABLE', status: undefined, retryable: true });
    expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
  });

  it('is API_UNREACHABLE once timeoutMs passes without an answer', async () => {
    const fake = await fakeApi(() => {});
    servers.push(fake.server);
    const started = Date.now();
    const error = await clientOf(fake.url, 300)
      .purge({ urls: ['https://www.example.com/x'] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'API_UNREACHABLE', retryable: true });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('is API_BAD_RESPONSE, with the status, for a proxy page or an unknown code; 5xx stays retryable', async () => {
    const fake = await fakeApi((req, res) => {
      if (req.url === '/v1/purges/proxied') res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>');
      else json(res, 418, { error: 'TEAPOT', message: 'short and stout' });
    });
    servers.push(fake.server);
    const client = clientOf(fake.url);
    await expect(client.status('proxied')).rejects.toMatchObject({
      code: 'API_BAD_RESPONSE',
      status: 502,
      retryable: true,
    });
    await expect(client.status('teapot')).rejects.toMatchObject({
      code: 'API_BAD_RESPONSE',
      status: 418,
      retryable: false,
    });
  });

  it('sends the bearer token and the Idempotency-Key header, and reads Retry-After of a 429', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const fake = await fakeApi((req, res) => {
      seen.push(req.headers);
      json(res, 429, { error: 'BACKLOG_FULL', message: 'full' }, { 'retry-after': '30' });
    });
    servers.push(fake.server);
    const error = await clientOf(fake.url)
      .purge({ urls: ['https://www.example.com/x'], priority: 'bulk' }, { idempotencyKey: 'rev-7' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BACKLOG_FULL', status: 429, retryable: true, retryAfterMs: 30_000 });
    expect(seen[0]).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'rev-7' });
  });

  it('waits through a retryable refusal, and stops at one that is not', async () => {
    let reads = 0;
    const fake = await fakeApi((req, res) => {
      reads += 1;
      if (req.url === '/v1/purges/gone') return json(res, 404, { error: 'NOT_FOUND', message: 'no purge' });
      if (reads === 1)
        return json(res, 503, { error: 'REDIS_UNAVAILABLE', message: 'Redis is not reachable' });
      json(res, 200, { id: 'p1', state: 'succeeded', cdns: [], targets: {}, batches: [] });
    });
    servers.push(fake.server);
    const client = clientOf(fake.url);
    await expect(client.waitFor('p1', { timeoutMs: 5_000, pollIntervalMs: 10 })).resolves.toMatchObject({
      state: 'succeeded',
    });
    expect(reads).toBe(2);
    await expect(client.waitFor('gone', { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(reads).toBe(3);
  });

  it('refuses, before sending anything, an idempotency key no header can carry', async () => {
    let requests = 0;
    const fake = await fakeApi((_req, res) => {
      requests += 1;
      json(res, 500, {});
    });
    servers.push(fake.server);
    await expect(
      clientOf(fake.url).purge({ urls: ['https://www.example.com/x'] }, { idempotencyKey: 'clé\r\nx' }),
    ).rejects.toThrow(TypeError);
    expect(requests).toBe(0);
  });
});
