import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverCallback } from '../../src/callbacks/deliver.ts';
import { isPurgeError } from '../../src/errors.ts';
import { createAddressGuard } from '../../src/net/address-guard.ts';
import { createGuardedDispatcher } from '../../src/net/guarded-dispatcher.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { finishedPurge } from './fixtures.ts';

const ANSWER_BODY = 'internal detail: db password hunter2-secret';

/** Whatever a receiver answers could be an internal service's response: only its status is kept. */
describe('a callback receiver that answers with an error and a body', () => {
  let receiver: Receiver;
  const dispatcher = createGuardedDispatcher(createAddressGuard({ allowHosts: ['127.0.0.1'] }), {
    connectTimeoutMs: 1_000,
  });

  beforeAll(async () => {
    receiver = await startReceiver((req, res) => {
      res.statusCode = Number(req.url?.slice(1));
      res.end(ANSWER_BODY);
    });
  });
  afterAll(async () => {
    await dispatcher.close();
    await receiver.close();
  });

  it.each([400, 404, 500, 503])('%i fails the delivery with the status alone', async (code) => {
    const error = await deliverCallback(finishedPurge(`${receiver.url}/${code}`), {
      secret: undefined,
      timeoutMs: 1_000,
      nowSeconds: 0,
      dispatcher,
    }).catch((e: unknown) => e);
    expect(isPurgeError(error) && error.code).toBe('CALLBACK_DELIVERY_FAILED');
    const { message, stack } = error as Error;
    expect(message).toBe(`callback receiver answered HTTP ${code}`);
    expect(`${stack}${JSON.stringify(error)}`).not.toContain('hunter2');
  });
});
