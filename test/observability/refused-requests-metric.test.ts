import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { series } from '../harness/prometheus-text.ts';

// No worker runs and nothing is accepted, so no CDN is ever called: the address only fills the config.
const UNUSED_CDN = 'http://127.0.0.1:9';
const USER = { username: 'ops', password: 'dashboard-password-123' };
const bearer = { authorization: `Bearer ${API_TOKEN}` };

describe('purge_worker_requests_refused_total', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(UNUSED_CDN, {
      cdns: [VIMS_RIG.cdnEntry(UNUSED_CDN)],
      dashboard: { users: [USER] },
    });
  });
  afterAll(async () => {
    await api.close();
  });

  it('counts every error answer by its code, from before the first scrape on, and nothing else', async () => {
    const answers = await Promise.all([
      api.app.inject({ method: 'POST', url: '/v1/purges', payload: { urls: ['https://www.example.com/'] } }),
      api.app.inject({
        method: 'POST',
        url: '/v1/purges',
        headers: { ...bearer, 'content-type': 'application/json' },
        payload: '{"urls": [',
      }),
      api.app.inject({
        method: 'POST',
        url: '/v1/purges',
        headers: bearer,
        payload: { urls: ['https://elsewhere.invalid/'] },
      }),
      api.app.inject({ url: '/v1/purges/no-such-purge', headers: bearer }),
      api.app.inject({ url: '/no/such/route' }),
      // The explorer answers pages, not JSON; its refusals count the same.
      api.app.inject({ url: '/admin/purges' }),
      api.app.inject({ url: '/admin/purges?since=yesterday-ish', headers: basic(USER) }),
      // Answers that are no refusal:
      api.app.inject({ url: '/healthz' }),
      api.app.inject({ url: '/admin/purges', headers: basic(USER) }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([401, 400, 400, 404, 404, 401, 400, 200, 200]);

    const text = (await api.app.inject({ url: '/metrics' })).body;
    const counted = Object.fromEntries(
      series(text, 'purge_worker_requests_refused_total').map(({ labels, value }) => [labels.code, value]),
    );
    expect(counted).toEqual({
      UNAUTHORIZED: 2,
      INVALID_JSON: 1,
      REQUEST_INVALID: 2,
      NOT_FOUND: 2,
    });
  });
});

function basic({ username, password }: { username: string; password: string }) {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}
