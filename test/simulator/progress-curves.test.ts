import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { vimsCdnSchema } from '../../src/config/schema.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createVimsProvider } from '../../src/providers/vims/provider.ts';
import {
  drawDuration,
  type ProgressCurve,
  progressAt,
  reportedProgress,
} from '../../src/simulator/progress-curves.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { setup as quantilSetup } from './quantil-harness.ts';

const TOKEN = 'sk_live_curves_token';
// On a whole second: VIMS's `start` is an HTTP date, to the second.
const T0 = Date.UTC(2026, 0, 5, 9, 30, 0);
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('progress curves', () => {
  it('rise evenly, in 25% jumps, after a stall, or not at all', () => {
    const at = (curve: ProgressCurve) => [0, 300, 600, 950, 1000].map((ms) => progressAt(curve, ms, 1000));
    expect(at('linear')).toEqual([0, 30, 60, 95, 100]);
    expect(at('steps')).toEqual([0, 25, 50, 75, 100]);
    expect(at('stalled').map((p) => Math.round(p ?? -1))).toEqual([0, 0, 0, 50, 100]);
    expect(at('none')).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('are shown cut down to the provider’s precision, never rounded up', () => {
    expect(reportedProgress('linear', 499, 1000, 0)).toBe(49);
    expect(reportedProgress('linear', 4999, 10_000, 1)).toBe(49.9);
    expect(reportedProgress('linear', 1, 3, 0)).toBe(33);
  });

  it('draw task durations evenly in log-space between the bounds', () => {
    const draws = [0, 0.5, 1].map((r) => drawDuration({ minMs: 1_000, maxMs: 100_000 }, () => r));
    expect(draws).toEqual([1_000, 10_000, 100_000]);
    expect(drawDuration({ minMs: 2_000 }, () => 0.7)).toBe(2_000);
  });
});

async function vimsRig(curve: ProgressCurve) {
  const clock = { now: T0 };
  const simulator = await startSimulator({
    vims: { tokens: [TOKEN], taskDurationMs: 10_000, progressCurve: curve, now: () => clock.now },
  });
  const http = createHttpClient({
    connectTimeoutMs: 500,
    headersTimeoutMs: 500,
    bodyTimeoutMs: 500,
    totalTimeoutMs: 1000,
    maxResponseBytes: 1 << 20,
  });
  cleanups.push(async () => {
    await http.close();
    await simulator.close();
  });
  const config = vimsCdnSchema.parse({
    id: 'v',
    provider: 'vims',
    baseUrl: simulator.url,
    token: TOKEN,
    cdnId: 101,
  });
  const provider = createVimsProvider(config, { http });
  const { remoteId } = await provider.submit({ urls: ['https://www.example.com/a.jpg'], dirs: [] });
  /** What the pipeline reads of the task `ms` into it. */
  const at = async (ms: number) => {
    clock.now = T0 + ms;
    return provider.status(remoteId);
  };
  return { simulator, at };
}

describe('the VIMS simulator, per curve, as the provider reads it', () => {
  it.each([
    ['linear', [0, 30, 60, 95]],
    ['steps', [0, 25, 50, 75]],
    ['stalled', [0, 0, 0, 50]],
  ] as const)(
    '%s: the percentages read 0.5 s, 3 s, 6 s and 9.5 s into a 10 s task, then done',
    async (curve, seen) => {
      const { at } = await vimsRig(curve);
      const statuses = [];
      for (const ms of [500, 3_000, 6_000, 9_500]) statuses.push(await at(ms));
      expect(statuses.map((s) => s.progress)).toEqual(seen);
      expect(statuses.map((s) => s.state)).toEqual(['pending', 'running', 'running', 'running']);
      // The task's start, from VIMS's `start`: what the schedule draws its line from.
      for (const status of statuses) expect(status).toMatchObject({ startedAt: T0 });
      expect(await at(10_000)).toEqual({ state: 'succeeded', progress: 100 });
    },
  );

  it('none: the task reports no percentage at all until it is done', async () => {
    const { simulator, at } = await vimsRig('none');
    const running = await at(6_000);
    expect(running).toEqual({ state: 'running', startedAt: T0 });
    expect(simulator.vims.tasks[0]?.percentage).toBeNull();
    expect(await at(10_000)).toEqual({ state: 'succeeded', progress: 100 });
  });

  it('draws each task its own duration from the spread', async () => {
    const draws = [0, 1];
    const simulator = await startSimulator({
      vims: {
        tokens: [TOKEN],
        taskDurationMs: 1_000,
        taskDurationMaxMs: 8_000,
        random: () => draws.shift() ?? 0,
      },
    });
    cleanups.push(() => simulator.close());
    for (const pattern of ['a', 'b']) {
      await fetch(`${simulator.url}/api/services/cdn/101/purge`, {
        method: 'POST',
        headers: { authorization: TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'all', pattern }),
      });
    }
    expect(simulator.vims.tasks.map((task) => task.durationMs)).toEqual([1_000, 8_000]);
  });
});

describe('the QUANTIL simulator, per curve', () => {
  it.each([
    ['linear', ['30.0', '60.0', '95.0']],
    ['steps', ['25.0', '50.0', '75.0']],
    ['stalled', ['0.0', '0.0', '50.0']],
    ['none', ['', '', '']],
  ] as const)('%s: each item’s rate 3 s, 6 s and 9.5 s into a 10 s purge', async (curve, rates) => {
    const { clock, submit, idOf, items } = await quantilSetup({
      progressCurve: curve,
      taskDurationMs: 10_000,
    });
    const id = idOf(await submit(['http://h.example.com/a.txt']));
    const submittedAt = clock.now;
    const seen = [];
    for (const ms of [3_000, 6_000, 9_500]) {
      clock.now = submittedAt + ms;
      seen.push(String((await items(id))[0]?.rate ?? ''));
    }
    expect(seen).toEqual(rates);
  });
});

describe('the simulator command', () => {
  const entry = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url));

  it('takes its curve and duration spread from SIM_PROGRESS and SIM_TASK_MS..SIM_TASK_MAX_MS', async () => {
    const env = { ...process.env, SIM_PORT: '0', SIM_EDGES: '0', SIM_PROGRESS: 'steps' };
    const child = spawn(process.execPath, [entry], {
      env: { ...env, SIM_TASK_MS: '2000', SIM_TASK_MAX_MS: '9000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [first] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const started = JSON.parse(first) as { url: string };
    expect(started).toMatchObject({ taskDurationMs: 2000, taskDurationMaxMs: 9000, progressCurve: 'steps' });
    // Its signal handlers are set right after that line: a request answered means they are.
    expect((await fetch(`${started.url}/api/services/cdn/`)).status).toBe(401);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });

  it('refuses a curve it does not know, naming the ones it does', async () => {
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, SIM_PORT: '0', SIM_EDGES: '0', SIM_PROGRESS: 'wobbly' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const [line] = (await once(createInterface({ input: child.stderr }), 'line')) as [string];
    expect(line).toContain('SIM_PROGRESS must be one of linear, steps, stalled, none');
    expect((await once(child, 'exit'))[0]).toBe(1);
  });
});
