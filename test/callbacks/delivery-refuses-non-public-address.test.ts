import type { LookupAddress } from 'node:dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deliverCallback } from '../../src/callbacks/deliver.ts';
import { createAddressGuard, type HostLookup } from '../../src/net/address-guard.ts';
import { type ConnectorFactory, createGuardedDispatcher } from '../../src/net/guarded-dispatcher.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { finishedPurge } from './fixtures.ts';

/**
 * The connect-time half of the guard. Host names resolve from data (`.invalid` names, which no real DNS
 * answers); the only sockets opened go to a receiver on 127.0.0.1.
 */
describe('delivering a callback', () => {
  let receiver: Receiver;
  const dispatchers: Array<{ close(): Promise<void> }> = [];

  beforeAll(async () => {
    receiver = await startReceiver((_req, res) => {
      res.statusCode = 204;
      res.end();
    });
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((dispatcher) => dispatcher.close()));
  });
  afterAll(async () => {
    await receiver.close();
  });

  function deliver(
    callbackUrl: string,
    guard: { allowHosts: string[]; lookup?: HostLookup },
    connect?: ConnectorFactory,
  ) {
    const dispatcher = createGuardedDispatcher(createAddressGuard(guard), {
      connectTimeoutMs: 1_000,
      ...(connect ? { connect } : {}),
    });
    dispatchers.push(dispatcher);
    return deliverCallback(finishedPurge(callbackUrl), {
      secret: undefined,
      timeoutMs: 1_000,
      nowSeconds: 0,
      dispatcher,
    });
  }

  function recordingLookup(answers: Record<string, LookupAddress[]>) {
    const calls: string[] = [];
    const lookup: HostLookup = async (hostname) => {
      calls.push(hostname);
      const answer = answers[hostname];
      if (!answer) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return answer;
    };
    return { calls, lookup };
  }

  it('never connects to a loopback receiver that callbacks.allowHosts does not allow', async () => {
    const before = receiver.connections;
    await expect(deliver(`${receiver.url}/hook`, { allowHosts: [] })).rejects.toMatchObject({
      code: 'CALLBACK_URL_FORBIDDEN',
      message: expect.stringMatching(/127\.0\.0\.1 is a loopback address/),
    });
    expect(receiver.connections).toBe(before);
  });

  it('delivers to a loopback receiver that callbacks.allowHosts allows', async () => {
    const before = receiver.received.length;
    await expect(deliver(`${receiver.url}/hook`, { allowHosts: ['127.0.0.1'] })).resolves.toBe(204);
    expect(receiver.received).toHaveLength(before + 1);
  });

  it('refuses a name that now resolves to a private address before any socket is opened', async () => {
    // The rebinding case: ingest saw a public answer; by delivery time the name points inside.
    const { calls, lookup } = recordingLookup({
      'cms.example.invalid': [{ address: '10.0.0.1', family: 4 }],
    });
    const connectors: string[] = [];
    const mustNotConnect: ConnectorFactory = () => (target, callback) => {
      connectors.push(target.hostname);
      callback(new Error('the guard let a connection through'), null);
    };
    await expect(
      deliver('http://cms.example.invalid/hook', { allowHosts: [], lookup }, mustNotConnect),
    ).rejects.toMatchObject({
      code: 'CALLBACK_URL_FORBIDDEN',
      message: expect.stringMatching(/resolves to 10\.0\.0\.1: 10\.0\.0\.1 is a private address/),
    });
    expect(calls).toEqual(['cms.example.invalid']);
    expect(connectors).toEqual([]);
  });

  it('dials the address it checked, under the name it was given, without looking the name up again', async () => {
    const { calls, lookup } = recordingLookup({
      'receiver.example.invalid': [{ address: '127.0.0.1', family: 4 }],
    });
    const before = receiver.received.length;
    const url = `http://receiver.example.invalid:${receiver.port}/hook`;
    await expect(deliver(url, { allowHosts: ['127.0.0.1'], lookup })).resolves.toBe(204);
    expect(calls).toEqual(['receiver.example.invalid']);
    expect(receiver.received.slice(before).map((r) => r.headers.host)).toEqual([
      `receiver.example.invalid:${receiver.port}`,
    ]);
  });
});
