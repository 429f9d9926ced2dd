import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Provider } from '../../src/providers/provider.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { waitingKey } from '../../src/status/keys.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { pendingTargets } from '../harness/pending.ts';
import { uniquePrefix } from '../harness/prefix.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const auth = { authorization: `Bearer ${API_TOKEN}` };
const COPIES = 8;

/**
 * The same request under the same key, sent at once to two API-side processes' worth of producers (the API
 * app, and a second runtime on its own Redis connections under the same prefix): only one may be accepted.
 */
describe('one idempotency key sent many times at the same moment', () => {
  let simulator: Simulator;
  let api: TestApi;
  let second: TestService;
  let quantil: Provider;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 0 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 0 }),
    });
    const shared = {
      redis: { url: inject('redisUrl'), prefix: uniquePrefix('same-moment') },
      cdns: [VIMS_RIG.cdnEntry(simulator.url), QUANTIL_RIG.cdnEntry(simulator.url)],
      routes: [{ hosts: ['www.example.com'], cdns: [VIMS_RIG.cdnId, QUANTIL_RIG.cdnId] }],
    };
    // No workers: the targets stay pending, so what was written can be read back whole.
    api = await startTestApi(simulator.url, shared);
    second = startTestService(testConfigInput(simulator.url, shared), { workers: false });
    quantil = api.service.runtime.providers.get(QUANTIL_RIG.cdnId) as Provider;
  });
  afterAll(async () => {
    await second?.close();
    await api?.close();
    await simulator?.close();
  });

  it('accepts it once: one purge id, one record, each target pending once, waited on by it alone, quota charged once', async () => {
    const urls = ['https://www.example.com/same-1.html', 'https://www.example.com/same-2.html'];
    const key = 'same-moment';
    const { prefix } = api.service.config.redis;
    const usedBefore = await api.service.runtime.quota.used(quantil, 'urls', Date.now());

    const viaApi = Array.from({ length: COPIES }, () =>
      api.app
        .inject({
          method: 'POST',
          url: '/v1/purges',
          headers: { ...auth, 'idempotency-key': key },
          payload: { urls },
        })
        .then((response) => {
          expect(response.statusCode).toBe(202);
          return response.json<{ id: string; duplicate?: boolean }>();
        }),
    );
    // The API names a bare token's scope by its position: the same scope, so the same key.
    const viaProducer = Array.from({ length: COPIES }, () =>
      second.runtime.producer.enqueuePurge({ urls }, { idempotency: { scope: 'api:tokens[0]', key } }),
    );
    const answers = await Promise.all([...viaApi, ...viaProducer]);

    const ids = new Set(answers.map((answer) => answer.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    expect(answers.filter((answer) => answer.duplicate !== true)).toHaveLength(1);

    const keysOf = async (kind: string) => api.service.redis.keys(`${prefix}:${kind}:*`);
    expect(await keysOf('purge')).toEqual([`${prefix}:purge:${id}`]);
    expect(await keysOf('plan')).toEqual([`${prefix}:plan:${id}`]);
    expect(await keysOf('idem')).toHaveLength(1);

    const members = urls.map((url) => `u ${url}`).sort();
    for (const cdnId of [VIMS_RIG.cdnId, QUANTIL_RIG.cdnId]) {
      expect((await pendingTargets(api.service.redis, prefix, cdnId)).sort()).toEqual(members);
      expect(await api.service.redis.hgetall(waitingKey(prefix, cdnId))).toEqual(
        Object.fromEntries(members.map((member) => [member, id])),
      );
      // One flush per CDN, whoever added it.
      expect(await api.service.runtime.producer.queues.get(cdnId)?.count()).toBe(1);
    }
    expect(await api.service.runtime.store.get(String(id))).toMatchObject({
      state: 'queued',
      targets: { [VIMS_RIG.cdnId]: { total: 2 }, [QUANTIL_RIG.cdnId]: { total: 2 } },
    });
    expect(await api.service.runtime.quota.used(quantil, 'urls', Date.now())).toBe(usedBefore + urls.length);
  });
});
