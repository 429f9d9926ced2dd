import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverCallback } from '../../src/callbacks/deliver.ts';
import { createAddressGuard } from '../../src/net/address-guard.ts';
import { createGuardedDispatcher } from '../../src/net/guarded-dispatcher.ts';
import { type Receiver, startReceiver } from '../harness/receiver.ts';
import { finishedPurge } from './fixtures.ts';

/** A redirect could point a vetted receiver anywhere: it is a failed delivery, never followed. */
describe('a callback receiver that answers with a redirect', () => {
  let target: Receiver;
  let redirecting: Receiver;
  const dispatcher = createGuardedDispatcher(createAddressGuard({ allowHosts: ['127.0.0.1'] }), {
    connectTimeoutMs: 1_000,
  });

  beforeAll(async () => {
    target = await startReceiver((_req, res) => res.end());
    redirecting = await startReceiver((req, res) => {
      res.statusCode = Number(req.url?.slice(1));
      res.setHeader('location', `${target.url}/elsewhere`);
      res.end();
    });
  });
  afterAll(async () => {
    await dispatcher.close();
    await Promise.all([target.close(), redirecting.close()]);
  });

  it.each([301, 302, 303, 307, 308])(
    '%i fails the delivery, and the redirect is not followed',
    async (code) => {
      const delivery = deliverCallback(finishedPurge(`${redirecting.url}/${code}`), {
        secret: undefined,
        timeoutMs: 1_000,
        nowSeconds: 0,
        dispatcher,
      });
      await expect(delivery).rejects.toMatchObject({
        code: 'CALLBACK_DELIVERY_FAILED',
        message: `callback receiver answered HTTP ${code} (redirects are not followed)`,
      });
      expect(target.connections).toBe(0);
    },
  );
});
