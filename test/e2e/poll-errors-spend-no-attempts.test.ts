import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { purgeKey } from '../../src/status/keys.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

/**
 * Attempts are for submits. A poll step can also fail on our side (here Redis refuses every write of the
 * purge record), and such a failure must not use up the batch's submit attempts and fail it.
 */
describe('a poll step that fails outside the CDN call', () => {
  let simulator: Simulator;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 60_000 }));
    const entry = { ...VIMS_RIG.cdnEntry(simulator.url), policy: { submit: { attempts: 2 } } };
    service = startTestService(testConfigInput(simulator.url, {}, [entry]));
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('spends no submit attempt: the purge polls on through the errors and succeeds once the record can be written', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/record-unwritable.html'],
    });
    await vi.waitFor(
      async () => expect((await service.runtime.store.get(id))?.batches[0]?.state).toBe('submitted'),
      { timeout: 5_000, interval: 20 },
    );

    // A string where the record's hash should be: every transition now fails with Redis's WRONGTYPE.
    const key = purgeKey(service.config.redis.prefix, id);
    const aside = `${key}:aside`;
    await service.redis.rename(key, aside);
    await service.redis.set(key, 'not a hash');
    const polls = () => simulator.vims.requests.filter((r) => r.op === 'status').length;
    const pollsBefore = polls();
    // Three polls that each failed to record themselves: more than the two attempts the batch has.
    await vi.waitFor(() => expect(polls() - pollsBefore).toBeGreaterThanOrEqual(3), {
      timeout: 5_000,
      interval: 20,
    });

    await service.redis.del(key);
    await service.redis.rename(aside, key);
    simulator.vims.setTaskDuration(0);
    const status = await service.waitForFinish(id);
    expect(status.batches[0]).toMatchObject({ state: 'succeeded', attempts: 1 });
  });
});
