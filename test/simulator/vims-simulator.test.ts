import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { VimsOptions } from '../../src/simulator/vims.ts';

const TOKEN = 'sk_live_test_token';
const T0 = Date.UTC(2015, 1, 4, 18, 6, 6);
const RFC1123 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const PURGE = '/api/services/cdn/101/purge';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface CallOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  token?: string | null;
  headersTimeout?: number;
}

async function setup(vims: VimsOptions = {}) {
  const clock = { now: T0 };
  const sim: Simulator = await startSimulator({
    vims: { tokens: [TOKEN], taskDurationMs: 1000, now: () => clock.now, ...vims },
  });
  const agent = new Agent();
  cleanups.push(async () => {
    await sim.close();
    await agent.destroy();
  });
  async function call(path: string, options: CallOptions = {}) {
    const headers: Record<string, string> = {};
    if (options.token !== null) headers.authorization = options.token ?? TOKEN;
    const res = await request(`${sim.url}${path}`, {
      method: options.method ?? 'GET',
      headers,
      dispatcher: agent,
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
      ...(options.headersTimeout === undefined ? {} : { headersTimeout: options.headersTimeout }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
  }
  const submit = (body: unknown = { target: 'all', pattern: 'jpg' }, options: CallOptions = {}) =>
    call(PURGE, { method: 'POST', body, ...options });
  const task = async (id: number, path: 'tasks' | 'task' = 'tasks') => {
    const res = await call(`/api/${path}/${id}`);
    return (res.json() as { data: Record<string, unknown> }).data;
  };
  return { sim, clock, call, submit, task };
}

describe('VIMS simulator protocol', () => {
  it('rejects a missing, wrong or Bearer-prefixed token and never logs it', async () => {
    const { sim, call } = await setup();
    for (const token of [null, 'sk_live_wrong', `Bearer ${TOKEN}`]) {
      const res = await call('/api/services/cdn/', { token });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ status: 'error', message: 'invalid token' });
    }
    expect((await call('/api/tasks/5001', { token: 'nope' })).status).toBe(401);
    expect(sim.vims.requests.map((r) => r.authorized)).toEqual([false, false, false, false]);
    expect(JSON.stringify(sim.vims.requests)).not.toContain(TOKEN);
  });

  it('lists CDN services shaped like the documentation', async () => {
    const { call } = await setup();
    const res = await call('/api/services/cdn/');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      count: 1,
      status: 'ok',
      message: 'found',
      data: [
        {
          id: 101,
          active: true,
          type: { id: 1, name: 'CDN' },
          bundle: {},
          configs: [],
          sub_services: [
            {
              description: '',
              type: { name: 'CDN_HOST' },
              vm: { id: 201, networking: [{ ip: '192.0.2.11' }] },
            },
            {
              description: '',
              type: { name: 'CDN_HOST' },
              vm: { id: 202, networking: [{ ip: '192.0.2.12' }] },
            },
          ],
        },
      ],
    });
  });

  it('validates submits and creates tasks with increasing ids', async () => {
    const { sim, call, submit } = await setup();
    const rejected: Array<[unknown, string]> = [
      [{ target: '999', pattern: 'jpg' }, 'unknown target'],
      [{ pattern: 'jpg' }, 'unknown target'],
      [{ target: 'all', pattern: '' }, 'invalid pattern'],
      [{ target: 'all', pattern: '(' }, 'invalid pattern'],
      [{ target: 'all', pattern: 42 }, 'invalid pattern'],
      ['{not json', 'invalid json'],
    ];
    for (const [body, reason] of rejected) {
      const res = await submit(body);
      expect(res.status).toBe(400);
      expect(res.json()).toEqual({ message: `failed creation : ${reason}`, status: 'error' });
    }
    const unknownCdn = await call('/api/services/cdn/999/purge', { method: 'POST', body: { target: 'all' } });
    expect(unknownCdn.json()).toEqual({ message: 'failed creation : cdn not found', status: 'error' });
    expect(sim.vims.tasks).toEqual([]);

    const accepted = [
      { target: 'all', pattern: '*' },
      { target: '201', pattern: 'jpg' },
      { target: 202, pattern: '\\.css$' },
    ];
    for (const [i, body] of accepted.entries()) {
      const res = await submit(body);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ message: 'purge running', status: 'ok', task_id: 5001 + i });
    }
    expect(sim.vims.tasks.map((t) => [t.id, t.target, t.pattern])).toEqual([
      [5001, 'all', '*'],
      [5002, '201', 'jpg'],
      [5003, '202', '\\.css$'],
    ]);
  });

  it('moves a task PENDING -> STARTED with rising percentage -> SUCCESS on the injected clock', async () => {
    const { clock, submit, task } = await setup();
    await submit();
    const pending = await task(5001);
    expect(pending).toMatchObject({ id: 5001, status: 'PENDING', percentage: 0, end: null, output: null });
    expect(pending).toMatchObject({
      task_type: 'celery',
      vims_task_type: 'cdn_purge',
      comment: null,
      hn: {},
    });
    expect(pending).toMatchObject({
      service: { id: 101, name: null },
      vm: {},
      start: new Date(T0).toUTCString(),
    });
    expect(pending.start).toMatch(RFC1123);
    expect(pending.task_remote_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    clock.now = T0 + 500;
    expect(await task(5001)).toMatchObject({ status: 'STARTED', percentage: 50, end: null });
    clock.now = T0 + 750;
    expect(await task(5001)).toMatchObject({ status: 'STARTED', percentage: 75, end: null });
    clock.now = T0 + 5000;
    const done = await task(5001);
    expect(done).toMatchObject({ status: 'SUCCESS', percentage: 100, output: null });
    expect(done.end).toBe(new Date(T0 + 1000).toUTCString());
  });

  it('reports FAILURE with an output when the outcome option says so', async () => {
    const { clock, submit, task, sim } = await setup({
      outcome: (t) => (t.pattern === 'bad' ? 'FAILURE' : 'SUCCESS'),
    });
    await submit({ target: 'all', pattern: 'bad' });
    await submit({ target: 'all', pattern: 'good' });
    clock.now = T0 + 1000;
    expect(await task(5001)).toMatchObject({ status: 'FAILURE', output: "Command failed: ['output']" });
    expect((await task(5001)).end).toMatch(RFC1123);
    expect(await task(5002)).toMatchObject({ status: 'SUCCESS', output: null });
    expect(sim.vims.task(5001)?.state).toBe('FAILURE');
  });

  it('lets a test pin any Celery state and change the duration at runtime', async () => {
    const { clock, submit, task, sim } = await setup();
    await submit();
    clock.now = T0 + 500;
    for (const state of ['RECEIVED', 'RETRY', 'PROGRESS', 'SOMETHING_NEW']) {
      sim.vims.setTaskState(5001, state);
      expect(await task(5001)).toMatchObject({ status: state, end: null, output: null });
    }
    sim.vims.setTaskState(5001, 'REVOKED');
    expect(await task(5001)).toMatchObject({ status: 'REVOKED', output: expect.any(String) });
    sim.vims.setTaskState(5001, 'REJECTED', 'worker lost');
    expect(await task(5001)).toMatchObject({ status: 'REJECTED', output: 'worker lost' });
    sim.vims.setTaskState(5001, null);
    expect(await task(5001)).toMatchObject({ status: 'STARTED', percentage: 50 });
    sim.vims.setTaskDuration(400);
    expect(await task(5001)).toMatchObject({ status: 'SUCCESS', percentage: 100 });
    expect(() => sim.vims.setTaskState(9999, 'SUCCESS')).toThrow();
  });

  it('answers on /api/tasks and /api/task, and taskPaths disables one of them', async () => {
    const both = await setup();
    await both.submit();
    expect((await both.task(5001, 'tasks')).id).toBe(5001);
    expect((await both.task(5001, 'task')).id).toBe(5001);
    const missing = await both.call('/api/tasks/4242');
    expect([missing.status, missing.json()]).toEqual([404, { status: 'error', message: 'task not found' }]);

    const only = await setup({ taskPaths: ['task'] });
    await only.submit();
    expect((await only.call('/api/tasks/5001')).status).toBe(404);
    expect((await only.call('/api/task/5001')).status).toBe(200);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { call } = await setup();
    for (const path of ['/nowhere', '/api/services/cdn/101']) {
      const res = await call(path);
      expect([res.status, res.json()]).toEqual([404, { status: 'error', message: 'not found' }]);
    }
    expect((await call(PURGE)).status).toBe(404);
  });
});

describe('VIMS simulator fault injection', () => {
  it('serves injected statuses in order, per operation, with Retry-After and inferred content types', async () => {
    const { sim, call, submit } = await setup();
    sim.vims.faults.inject('submit', { kind: 'status', status: 429, retryAfter: '1' }, 2);
    sim.vims.faults.inject('list', { kind: 'status', status: 503, body: '<html>Service Unavailable</html>' });
    sim.vims.faults.inject('list', { kind: 'html', status: 502 });
    expect(sim.vims.faults.pending()).toBe(4);

    const unavailable = await call('/api/services/cdn/');
    expect([unavailable.status, unavailable.headers['content-type']]).toEqual([503, 'text/html']);
    const proxy = await call('/api/services/cdn/');
    expect([proxy.status, proxy.headers['content-type']]).toEqual([502, 'text/html']);
    expect(proxy.text).toContain('502');
    expect((await call('/api/services/cdn/')).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const limited = await submit();
      expect([limited.status, limited.headers['retry-after']]).toEqual([429, '1']);
    }
    expect(sim.vims.tasks).toEqual([]);
    expect((await submit()).status).toBe(200);

    sim.vims.faults.inject('submit', {
      kind: 'status',
      status: 400,
      body: '{"status":"error","message":"x"}',
    });
    sim.vims.faults.clear();
    expect((await submit()).status).toBe(200);
  });

  it('truncates a body so the client fails, creating the task only with afterAccept', async () => {
    const { sim, submit } = await setup();
    sim.vims.faults.inject('submit', { kind: 'truncate' });
    await expect(submit()).rejects.toThrow();
    expect(sim.vims.tasks).toEqual([]);
    sim.vims.faults.inject('submit', { kind: 'truncate', afterAccept: true });
    await expect(submit()).rejects.toThrow();
    expect(sim.vims.tasks.map((t) => t.id)).toEqual([5001]);
  });

  it('resets the connection, and afterAccept models a purge accepted but its answer lost', async () => {
    const { sim, call, submit } = await setup();
    sim.vims.faults.inject('list', { kind: 'reset' });
    await expect(call('/api/services/cdn/')).rejects.toThrow();
    sim.vims.faults.inject('submit', { kind: 'reset', afterAccept: true });
    await expect(submit()).rejects.toThrow();
    sim.vims.faults.inject('submit', { kind: 'status', status: 502, afterAccept: true });
    expect((await submit()).status).toBe(502);
    expect(sim.vims.tasks.map((t) => t.id)).toEqual([5001, 5002]);
    expect((await submit()).json()).toMatchObject({ task_id: 5003 });
  });

  it('stalls until the client times out, and close() still finishes with a stalled socket open', async () => {
    const { sim, call } = await setup();
    sim.vims.faults.inject('status', { kind: 'stall' }, 2);
    await expect(call('/api/tasks/5001', { headersTimeout: 100 })).rejects.toThrow(/timeout/i);
    const hanging = call('/api/tasks/5001');
    await sim.vims.waitForRequest('status', 2);
    await sim.close();
    await expect(hanging).rejects.toThrow();
  });

  it('answers a slow request normally after the delay', async () => {
    const { sim, submit } = await setup();
    sim.vims.faults.inject('submit', { kind: 'slow', delayMs: 80 });
    const started = performance.now();
    const res = await submit();
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    expect(res.json()).toMatchObject({ status: 'ok', task_id: 5001 });
    expect(sim.vims.tasks).toHaveLength(1);
  });
});

describe('VIMS simulator observation hooks', () => {
  it('holds a processed submit until released', async () => {
    const { sim, call, submit } = await setup();
    const hold = sim.vims.holdNext('submit');
    let answered = false;
    const held = submit().then((res) => {
      answered = true;
      return res;
    });
    await hold.arrived;
    expect(sim.vims.tasks.map((t) => t.id)).toEqual([5001]);
    expect((await call('/api/tasks/5001')).status).toBe(200);
    expect(answered).toBe(false);
    hold.release();
    expect((await held).json()).toMatchObject({ task_id: 5001 });
  });

  it('drops a held answer on close()', async () => {
    const { sim, submit } = await setup();
    const hold = sim.vims.holdNext('submit');
    const held = submit();
    await hold.arrived;
    await sim.close();
    await expect(held).rejects.toThrow();
  });

  it('logs requests, emits events and waits for the nth request of an operation', async () => {
    const { sim, submit, call } = await setup();
    const seen: string[] = [];
    sim.vims.events.on('request', (entry) => seen.push(`${entry.method} ${entry.path}`));
    const second = sim.vims.waitForRequest('submit', 2);
    await submit({ target: 'all', pattern: 'a' });
    await call('/api/services/cdn/');
    await submit({ target: '201', pattern: 'b' });
    expect(await second).toMatchObject({
      op: 'submit',
      authorized: true,
      body: { target: '201', pattern: 'b' },
    });
    expect(await sim.vims.waitForRequest('list')).toMatchObject({ op: 'list', at: T0 });
    expect(seen).toEqual([`POST ${PURGE}`, 'GET /api/services/cdn/', `POST ${PURGE}`]);
  });
});

describe('simulator demo entry', () => {
  it('prints its URL as one JSON line and stops on SIGTERM', async () => {
    const entry = fileURLToPath(new URL('../../src/simulator/main.ts', import.meta.url));
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, SIM_PORT: '0', SIM_VIMS_TOKEN: 'sk_live_demo_test' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(first) as { url: string };
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first).not.toContain('sk_live_demo_test');
    const res = await fetch(`${started.url}/api/services/cdn/`, {
      headers: { authorization: 'sk_live_demo_test' },
    });
    expect(res.status).toBe(200);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
  });
});
