import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPurgeClient,
  PurgeApiError,
  type PurgeClient,
  type PurgeState,
  PurgeWaitTimeoutError,
} from '../../src/client/index.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

async function listening(api: TestApi): Promise<string> {
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
}

/** The client over a real socket, against the real app: one with workers and the CDN simulator, one without. */
describe('purge-worker/client against the real API', () => {
  let simulator: Simulator;
  let api: TestApi;
  let idle: TestApi;
  let apiUrl: string;
  let client: PurgeClient;
  let idleClient: PurgeClient;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 50 } });
    api = await startTestApi(simulator.url, {}, { workers: true });
    idle = await startTestApi(simulator.url);
    apiUrl = await listening(api);
    client = createPurgeClient({ baseUrl: apiUrl, token: API_TOKEN, timeoutMs: 5_000 });
    idleClient = createPurgeClient({ baseUrl: await listening(idle), token: API_TOKEN, timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await client?.close();
    await idleClient?.close();
    await api?.close();
    await idle?.close();
    await simulator?.close();
  });

  it('purges, then waits for the purge to succeed, telling each status it read', async () => {
    const accepted = await client.purge({ urls: ['https://www.example.com/client/ok.html'] });
    expect(accepted).toEqual({ id: expect.any(String), cdns: ['vims-main'], duplicate: false });
    const seen: PurgeState[] = [];
    const final = await client.waitFor(accepted.id, {
      timeoutMs: 15_000,
      pollIntervalMs: 20,
      onStatus: (status) => seen.push(status.state),
    });
    expect(final).toMatchObject({ id: accepted.id, state: 'succeeded', cdns: ['vims-main'] });
    expect(final.batches).toEqual([expect.objectContaining({ cdnId: 'vims-main', state: 'succeeded' })]);
    expect(seen.at(-1)).toBe('succeeded');
    expect((await api.service.runtime.store.get(accepted.id))?.state).toBe('succeeded');
    expect(await client.status(accepted.id)).toEqual(final);
  });

  it('sends the idempotency key as Idempotency-Key: a repeat answers the same purge, duplicate', async () => {
    const request = { urls: ['https://www.example.com/client/once.html'], priority: 'bulk' as const };
    const first = await idleClient.purge(request, { idempotencyKey: 'cms-rev-1' });
    const again = await idleClient.purge(request, { idempotencyKey: 'cms-rev-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ ...first, duplicate: true });
    // The key is this token's: the same key from the CLI's scope is another purge.
    const fromCli = await idle.service.runtime.producer.enqueuePurge(request, {
      idempotency: { scope: 'cli', key: 'cms-rev-1' },
    });
    expect(fromCli.id).not.toBe(first.id);
  });

  it('refuses a different request under a used key with IDEMPOTENCY_KEY_REUSED', async () => {
    await idleClient.purge({ urls: ['https://www.example.com/client/a.html'] }, { idempotencyKey: 'k-2' });
    const refused = await idleClient
      .purge({ urls: ['https://www.example.com/client/b.html'] }, { idempotencyKey: 'k-2' })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PurgeApiError);
    expect(refused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409, retryable: false });
  });

  it('turns a 400 into a PurgeApiError with the code, status and message of the answer', async () => {
    const refused = await client
      .purge({ urls: ['ftp://www.example.com/x'] })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PurgeApiError);
    expect(refused).toMatchObject({ code: 'REQUEST_INVALID', status: 400, retryable: false });
    expect((refused as PurgeApiError).message).toMatch(/urls\[0\]/);
    expect((refused as PurgeApiError).body).toMatchObject({ error: 'REQUEST_INVALID' });

    const badQuery = await client.list({ since: 'yesterday' }).catch((error: unknown) => error);
    expect(badQuery).toMatchObject({ code: 'REQUEST_INVALID', status: 400, parameter: 'since' });
    // Nothing of the token in what a caller may log.
    expect(inspect(refused, { depth: 10 })).not.toContain(API_TOKEN);
    expect(inspect(client, { depth: 10 })).not.toContain(API_TOKEN);
  });

  it('turns a wrong token into UNAUTHORIZED 401, naming neither token', async () => {
    const stranger = createPurgeClient({ baseUrl: apiUrl, token: 'wrong-1' });
    try {
      const refused = await stranger.status('anything').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(PurgeApiError);
      expect(refused).toMatchObject({ code: 'UNAUTHORIZED', status: 401, retryable: false });
      const shown = inspect(refused, { depth: 10 });
      expect(shown).not.toContain('wrong-1');
      expect(shown).not.toContain(API_TOKEN);
    } finally {
      await stranger.close();
    }
  });

  it('answers NOT_FOUND 404 for a purge it does not know', async () => {
    await expect(client.status('no-such-purge')).rejects.toMatchObject({ code: 'NOT_FOUND', status: 404 });
  });

  it('gives up waiting after timeoutMs when no worker runs, naming the state it last read', async () => {
    const { id } = await idleClient.purge({ urls: ['https://www.example.com/client/stuck.html'] });
    const started = Date.now();
    const gaveUp = await idleClient
      .waitFor(id, { timeoutMs: 600, pollIntervalMs: 50 })
      .catch((error: unknown) => error);
    expect(gaveUp).toBeInstanceOf(PurgeWaitTimeoutError);
    expect(gaveUp).toMatchObject({ code: 'WAIT_TIMEOUT', purgeId: id, lastState: 'queued', timeoutMs: 600 });
    expect((gaveUp as PurgeWaitTimeoutError).message).toContain(`purge ${id} is still queued`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    // The purge goes on: waiting was given up, not the purge.
    expect((await idleClient.status(id)).state).toBe('queued');
  });

  it('stops waiting when its signal aborts, with the signal reason', async () => {
    const { id } = await idleClient.purge({ urls: ['https://www.example.com/client/aborted.html'] });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const outcome = await idleClient
      .waitFor(id, { timeoutMs: 30_000, signal: controller.signal, onStatus: () => controller.abort(reason) })
      .catch((error: unknown) => error);
    expect(outcome).toBe(reason);
  });

  it('lists purges newest first, with its filters, and answers a dry run writing nothing', async () => {
    const { id } = await idleClient.purge({ urls: ['https://www.example.com/client/listed.html'] });
    const page = await idleClient.list({ state: ['queued'], url: 'client/listed', limit: 5 });
    expect(page.purges.map((purge) => purge.id)).toEqual([id]);
    expect(page.purges[0]).toMatchObject({ state: 'queued', cdns: ['vims-main'] });

    const keysBefore = await idle.keys();
    const dryRun = await idleClient.dryRun({ urls: ['https://www.example.com/client/listed.html'] });
    expect(dryRun).toMatchObject({ dryRun: true, outcome: 'accepted', wouldAnswer: 202 });
    expect(dryRun.cdns['vims-main']?.alreadyPending.urls).toBe(1);
    expect(await idle.keys()).toEqual(keysBefore);
  });
});
