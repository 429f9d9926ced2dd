import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { EVERY_FAULT, type RandomFaults } from '../../src/simulator/faults.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';

const TOKEN = 'sk_live_test_token';
const PURGE = '/api/services/cdn/101/purge';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(randomFaults: RandomFaults) {
  const sim: Simulator = await startSimulator({ vims: { tokens: [TOKEN], randomFaults } });
  const agent = new Agent();
  cleanups.push(async () => {
    await sim.close();
    await agent.destroy();
  });
  const submit = async () => {
    const res = await request(`${sim.url}${PURGE}`, {
      method: 'POST',
      headers: { authorization: TOKEN },
      body: JSON.stringify({ target: 'all', pattern: 'jpg' }),
      dispatcher: agent,
    });
    await res.body.text();
    return res.statusCode;
  };
  return { sim, submit };
}

/** Plays back the given numbers as random draws, in order, then 0.99 (no fault) for ever. */
function draws(...values: number[]) {
  return () => values.shift() ?? 0.99;
}

describe('simulator random faults', () => {
  it('spoil each request with the drawn probability, picking the drawn fault, and count every one applied', async () => {
    const faults = [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503, afterAccept: true },
    ] as const;
    // Request 1: 0.05 < rate, then 0.1 picks faults[0]; request 2: 0.5 >= rate, no fault; request 3: fault,
    // 0.9 picks faults[1], which runs the submit before answering 503.
    const { sim, submit } = await setup({ rate: 0.1, faults, random: draws(0.05, 0.1, 0.5, 0.01, 0.9) });

    expect(await submit()).toBe(500);
    expect(await submit()).toBe(200);
    expect(await submit()).toBe(503);

    expect(sim.vims.faults.applied).toEqual([
      { op: 'submit', kind: 'status', afterAccept: false },
      { op: 'submit', kind: 'status', afterAccept: true },
    ]);
    // The 500 came before the origin, the answer-lost 503 after it: two tasks, the second submit's and the third's.
    expect(sim.vims.tasks).toHaveLength(2);
  });

  it('leave an injected fault first, and a rate of 0 spoils nothing', async () => {
    const { sim, submit } = await setup({ rate: 0, faults: EVERY_FAULT });
    sim.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '1' });

    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push(await submit());

    expect(statuses).toEqual([429, ...Array(19).fill(200)]);
    expect(sim.vims.faults.applied).toEqual([{ op: 'submit', kind: 'status', afterAccept: false }]);
  });

  it('refuse a rate outside 0..1', async () => {
    await expect(
      startSimulator({ vims: { randomFaults: { rate: 1.5, faults: EVERY_FAULT } } }),
    ).rejects.toThrow(/rate must be from 0 to 1/);
  });

  it('offer every fault kind the simulator has, before and after accepting', () => {
    const kinds = new Set(EVERY_FAULT.map((fault) => fault.kind));
    expect([...kinds].sort()).toEqual(['html', 'reset', 'slow', 'stall', 'status', 'truncate']);
    expect(EVERY_FAULT.some((fault) => fault.afterAccept)).toBe(true);
  });
});
