import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from '../../src/callbacks/signature.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { startTestService, type TestService, type TestServiceOptions, testConfigInput } from './service.ts';

export const API_TOKEN = 'test-api-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';

export interface TestApi {
  app: FastifyInstance;
  service: TestService;
  /**
   * Every key under the test's prefix, to show a refused request wrote nothing. BullMQ writes each queue's
   * `:meta` key on its own schedule when the queue connects, and a running worker its `:stalled-check` lock
   * (with a TTL) every stalled interval; the rate limiter's `:limiter` counter expires with its window (a
   * snapshot taken before it lapses and one after differ by it); none holds work, so all three are left out.
   */
  keys(): Promise<string[]>;
  close(): Promise<void>;
}

/** The API app over a real Redis; workers only when a test needs purges to finish. */
export async function startTestApi(
  simulatorUrl: string,
  overrides: Record<string, unknown> = {},
  options: TestServiceOptions = {},
): Promise<TestApi> {
  const input = testConfigInput(simulatorUrl, {
    api: {
      tokens: [API_TOKEN],
      webhook: { secret: WEBHOOK_SECRET },
      bodyLimitBytes: 64 * 1024,
      maxItemsPerRequest: 50,
    },
    ...overrides,
  });
  const service = startTestService(input, { ...options, workers: options.workers ?? false });
  const app = await buildApp({ runtime: service.runtime, log: createLogger({ level: 'silent' }) });
  return {
    app,
    service,
    keys: async () =>
      (await service.redis.keys(`${service.config.redis.prefix}*`))
        .filter(
          (key) => !key.endsWith(':meta') && !key.endsWith(':stalled-check') && !key.endsWith(':limiter'),
        )
        .sort(),
    async close() {
      await app.close();
      await service.close();
    },
  };
}

/** A CMS publish event, signed with the test webhook secret as a CMS signs it, through `inject`. */
export function publishSigned(
  app: FastifyInstance,
  event: Record<string, unknown>,
): Promise<LightMyRequestResponse> {
  const raw = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  return app.inject({
    method: 'POST',
    url: '/v1/events/publish',
    headers: {
      'content-type': 'application/json',
      [TIMESTAMP_HEADER]: String(timestamp),
      [SIGNATURE_HEADER]: sign(WEBHOOK_SECRET, timestamp, raw),
    },
    payload: raw,
  });
}
