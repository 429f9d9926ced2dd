import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/simulator/faults.ts';
import type { QuantilOp } from '../../src/simulator/quantil.ts';
import { type CallOptions, closeAll, setup, T0 } from './quantil-harness.ts';

afterEach(closeAll);

describe('QUANTIL simulator faults', () => {
  async function withPurge(op: QuantilOp) {
    // A body to cut: with the id only in Location the create answer is empty and `truncate` cuts nothing.
    const s = await setup({ idIn: 'both' });
    const id = op === 'status' ? s.idOf(await s.submit()) : '';
    const hit = (options: CallOptions = {}) =>
      op === 'submit' ? s.submit(['http://h/x'], [], options) : s.call(`/api/purge/${id}`, options);
    return { ...s, hit };
  }

  it.each(['submit', 'status'] as const)(
    'injects statuses with Retry-After and proxy pages on %s',
    async (op) => {
      const { sim, hit } = await withPurge(op);
      const body = '<error><code>Busy</code><message>try later</message></error>';
      sim.quantil.faults.inject(op, { kind: 'status', status: 503, body, retryAfter: '7' });
      sim.quantil.faults.inject(op, { kind: 'html', status: 502 });
      const busy = await hit();
      expect([busy.status, busy.header('retry-after'), busy.header('content-type'), busy.text]).toEqual([
        503,
        '7',
        'text/html',
        body,
      ]);
      const proxy = await hit();
      expect([proxy.status, proxy.header('content-type')]).toEqual([502, 'text/html']);
      expect((await hit()).status).toBe(op === 'submit' ? 202 : 200);
    },
  );

  it.each(['submit', 'status'] as const)('truncates, resets and stalls %s', async (op) => {
    const { sim, hit } = await withPurge(op);
    const before = sim.quantil.purges.length;
    const faults: Fault[] = [{ kind: 'truncate' }, { kind: 'reset' }];
    for (const fault of faults) {
      sim.quantil.faults.inject(op, fault);
      await expect(hit()).rejects.toThrow();
    }
    sim.quantil.faults.inject(op, { kind: 'stall' });
    await expect(hit({ headersTimeout: 100 })).rejects.toThrow(/timeout/i);
    expect(sim.quantil.purges).toHaveLength(before);
    sim.quantil.faults.inject(op, { kind: 'reset', afterAccept: true });
    await expect(hit()).rejects.toThrow();
    expect(sim.quantil.purges).toHaveLength(op === 'submit' ? before + 1 : before);
  });

  it('truncates an empty create answer too (the id only in Location): the client never reads a complete 202', async () => {
    // Found by the chaos rig: half of nothing is nothing, so the "truncated" answer arrived whole, naming a
    // purge the simulator never created, and the client polled an id QUANTIL did not know.
    const { sim, submit } = await setup({ idIn: 'location' });
    sim.quantil.faults.inject('submit', { kind: 'truncate' });
    await expect(submit()).rejects.toThrow();
    expect(sim.quantil.purges).toHaveLength(0);
  });

  it.each(['submit', 'status'] as const)('answers a slow %s normally after the delay', async (op) => {
    const { hit, sim } = await withPurge(op);
    sim.quantil.faults.inject(op, { kind: 'slow', delayMs: 60 });
    const started = performance.now();
    const res = await hit();
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    expect(res.status).toBe(op === 'submit' ? 202 : 200);
  });

  it('holds a processed submit until released', async () => {
    const { sim, submit } = await setup();
    const hold = sim.quantil.holdNext('submit');
    const held = submit();
    await hold.arrived;
    expect(sim.quantil.purges).toHaveLength(1);
    hold.release();
    expect((await held).status).toBe(202);
    expect(await sim.quantil.waitForRequest('submit')).toMatchObject({
      op: 'submit',
      authorized: true,
      at: T0,
    });
  });
});

describe('simulator demo entry with QUANTIL', () => {
  it('announces QUANTIL without printing its key and accepts requests signed with it', async () => {
    const entry = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url));
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, SIM_PORT: '0', SIM_QUANTIL_USER: 'ops', SIM_QUANTIL_KEY: 'k-secret-42' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(first) as { url: string; providers: string[]; quantilUser: string };
    expect(started.providers).toContain('quantil');
    expect(started.quantilUser).toBe('ops');
    expect(first).not.toContain('k-secret-42');
    const date = new Date().toUTCString();
    const signature = createHmac('sha1', 'k-secret-42').update(date).digest('base64');
    const res = await fetch(`${started.url}/api/purge`, {
      headers: {
        date,
        accept: 'application/xml',
        authorization: `Basic ${Buffer.from(`ops:${signature}`).toString('base64')}`,
      },
    });
    expect(res.status).toBe(200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });
});
