import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, publishSigned, startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { TEST_VIMS_TOKEN } from '../harness/service.ts';

/** Which lane a purge goes in when it names none: the webhook's default, for webhook events only. */
describe('priority defaults', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator({ vims: { tokens: [TEST_VIMS_TOKEN] } });
    api = await startTestApi(simulator.url, {
      api: { tokens: [API_TOKEN], webhook: { secret: WEBHOOK_SECRET, priority: 'bulk' } },
    });
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  const laneOf = async (id: unknown) => (await api.service.runtime.store.get(String(id)))?.priority;

  async function publish(event: Record<string, unknown>) {
    const response = await publishSigned(api.app, event);
    expect(response.statusCode).toBe(202);
    return response.json<{ id: string }>().id;
  }

  it("puts a webhook event that names no lane in api.webhook.priority's, and one that names its own in that", async () => {
    expect(await laneOf(await publish({ eventId: 'e-1', urls: ['https://www.example.com/a.html'] }))).toBe(
      'bulk',
    );
    expect(
      await laneOf(
        await publish({ eventId: 'e-2', urls: ['https://www.example.com/b.html'], priority: 'urgent' }),
      ),
    ).toBe('urgent');
  });

  it('leaves an API purge that names no lane normal: the webhook default is the webhook source only', async () => {
    const response = await api.app.inject({
      method: 'POST',
      url: '/v1/purges',
      headers: { authorization: `Bearer ${API_TOKEN}` },
      payload: { urls: ['https://www.example.com/c.html'] },
    });
    expect(response.statusCode).toBe(202);
    expect(await laneOf(response.json<{ id: string }>().id)).toBe('normal');
  });
});
