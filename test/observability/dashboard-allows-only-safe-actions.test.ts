import { appRoutes } from '@bull-board/api/dist/routes.js';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dashboardRule } from '../../src/api/plugins/dashboard-actions.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { batchJobIdOf, flushJob } from '../harness/pending.ts';

const USER = { username: 'ops', password: 'dashboard-password-123' };
const AUTH = {
  authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`,
};
const QUEUE = 'cdn-vims-main';

interface Call {
  method: 'GET' | 'PUT' | 'PATCH' | 'POST';
  route: string;
  params?: Record<string, string>;
  body?: unknown;
}

interface JobRef {
  queue: string;
  id: string;
}

/** A job in each state the rules care about, made by real purges. */
interface Jobs {
  failed: JobRef;
  completed: JobRef;
  delayed: JobRef;
}

/**
 * The call's URL. A call names the state of its job (`jobId: 'failed'`); the job of that state (and its
 * queue) goes in. Without a jobId it is the completed job's.
 */
function url(call: Call, jobs: Jobs): string {
  const state = (call.params?.jobId ?? 'completed') as keyof Jobs;
  const job: JobRef = jobs[state] ?? { queue: QUEUE, id: state };
  const params: Record<string, string> = {
    schedulerId: 'nightly',
    ...call.params,
    queueName: job.queue,
    jobId: job.id,
  };
  return `/admin/queues${call.route.replace(/:(\w+)/g, (_whole, name: string) => params[name] ?? name)}`;
}

/**
 * Every bull-board write that could leave a purge unfinished, or is configuration rather than dashboard
 * work, with a body bull-board would accept.
 */
const UNSAFE: Call[] = [
  { method: 'POST', route: '/api/queues/:queueName/add', body: { name: 'batch', data: { target: 'all' } } },
  {
    method: 'PATCH',
    route: '/api/queues/:queueName/:jobId/update-data',
    params: { jobId: 'delayed' },
    body: { data: { target: 'all' } },
  },
  {
    method: 'PATCH',
    route: '/api/queues/:queueName/:jobId/delay',
    params: { jobId: 'delayed' },
    body: { delay: 1 },
  },
  { method: 'PATCH', route: '/api/queues/:queueName/:jobId/priority', body: { priority: 1 } },
  { method: 'PUT', route: '/api/queues/:queueName/empty' },
  { method: 'PUT', route: '/api/queues/:queueName/obliterate', body: { force: true } },
  { method: 'PUT', route: '/api/queues/pause' },
  { method: 'PUT', route: '/api/queues/resume' },
  { method: 'PUT', route: '/api/queues/:queueName/pause' },
  { method: 'PUT', route: '/api/queues/:queueName/resume' },
  { method: 'PUT', route: '/api/queues/:queueName/concurrency', body: { concurrency: 1 } },
  { method: 'PUT', route: '/api/queues/:queueName/rate-limit', body: { max: 1, duration: 60_000 } },
  { method: 'PUT', route: '/api/queues/:queueName/rate-limit/release' },
  { method: 'PUT', route: '/api/queues/:queueName/job-schedulers/:schedulerId/remove' },
  { method: 'PATCH', route: '/api/queues/:queueName/job-schedulers/:schedulerId', body: { every: 1000 } },
  { method: 'PUT', route: '/api/queues/:queueName/job-schedulers/:schedulerId/run' },
  { method: 'PUT', route: '/api/queues/:queueName/:jobId/remove-unprocessed-children' },
  { method: 'PUT', route: '/api/queues/:queueName/retry/:queueStatus', params: { queueStatus: 'completed' } },
  ...['delayed', 'wait', 'waiting', 'active', 'paused', 'prioritized', 'waiting-children'].map(
    (queueStatus): Call => ({
      method: 'PUT',
      route: '/api/queues/:queueName/clean/:queueStatus',
      params: { queueStatus },
    }),
  ),
  { method: 'PUT', route: '/api/queues/:queueName/:jobId/retry', params: { jobId: 'completed' } },
  { method: 'PUT', route: '/api/queues/:queueName/:jobId/retry', params: { jobId: 'delayed' } },
  { method: 'PUT', route: '/api/queues/:queueName/:jobId/clean', params: { jobId: 'delayed' } },
];

/** What README promises write mode allows, in the order the test runs them (each changes its job). */
const SAFE: Array<Call & { status: number }> = [
  { method: 'PUT', route: '/api/queues/:queueName/:jobId/retry', params: { jobId: 'failed' }, status: 204 },
  {
    method: 'PUT',
    route: '/api/queues/:queueName/retry/:queueStatus',
    params: { queueStatus: 'failed' },
    status: 200,
  },
  {
    method: 'PUT',
    route: '/api/queues/:queueName/:jobId/promote',
    params: { jobId: 'delayed' },
    status: 204,
  },
  { method: 'PUT', route: '/api/queues/:queueName/promote', status: 200 },
  {
    method: 'PUT',
    route: '/api/queues/:queueName/:jobId/clean',
    params: { jobId: 'completed' },
    status: 204,
  },
  ...['completed', 'failed'].map((queueStatus) => ({
    method: 'PUT' as const,
    route: '/api/queues/:queueName/clean/:queueStatus',
    params: { queueStatus },
    status: 200,
  })),
];

/** `METHOD /route` for each method and route a bull-board route definition names. */
function routeKeys(definition: { method: string | readonly string[]; route: string | readonly string[] }) {
  return [definition.method]
    .flat()
    .flatMap((method) => [definition.route].flat().map((route) => `${method.toUpperCase()} ${route}`));
}

const READS: Call[] = [appRoutes.entryPoint, ...appRoutes.api]
  .flatMap(routeKeys)
  .filter((key) => key.startsWith('GET '))
  .map((key): Call => ({ method: 'GET', route: key.slice('GET '.length) }));

async function send(api: TestApi, call: Call, jobs: Jobs) {
  return api.app.inject({
    method: call.method,
    url: url(call, jobs),
    headers: AUTH,
    ...(call.body === undefined ? {} : { payload: call.body as Record<string, unknown> }),
  });
}

/** What an unsafe action would change, per queue: job counts, job data and states, pause, limits. */
async function snapshot(queues: readonly Queue[], jobs: Jobs) {
  return Promise.all(
    queues.map(async (queue) => ({
      name: queue.name,
      counts: await queue.getJobCounts(),
      jobs: await Promise.all(
        Object.values(jobs)
          .filter((job) => job.queue === queue.name)
          .map(async (job) => ({
            state: await queue.getJobState(job.id),
            data: (await queue.getJob(job.id))?.data,
          })),
      ),
      paused: await queue.isPaused(),
      concurrency: await queue.getGlobalConcurrency(),
      rateLimitTtl: await queue.getRateLimitTtl(),
    })),
  );
}

describe('the dashboard in write mode (dashboard.readOnly: false)', () => {
  let simulator: Simulator;
  let api: TestApi;
  let queue: Queue;
  let slowQueue: Queue;
  let jobs: Jobs;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    const slow = {
      ...VIMS_RIG.cdnEntry(simulator.url),
      id: 'vims-slow',
      // Polled only when promoted: its job stays delayed for the whole test.
      policy: { poll: { initialIntervalMs: 600_000, maxIntervalMs: 600_000, deadlineMs: 3_600_000 } },
    };
    api = await startTestApi(
      simulator.url,
      { cdns: [VIMS_RIG.cdnEntry(simulator.url), slow], dashboard: { users: [USER], readOnly: false } },
      { workers: true },
    );
    const found = api.service.runtime.queues().find((q) => q.name === QUEUE);
    if (!found) throw new Error(`no queue ${QUEUE}`);
    queue = found;
    const { producer } = api.service.runtime;

    const { body, contentType } = VIMS_RIG.rejection;
    VIMS_RIG.sim(simulator).faults.inject('submit', { kind: 'status', status: 400, body, contentType });
    const failed = await producer.enqueuePurge({
      urls: ['https://www.example.com/f.html'],
      cdns: ['vims-main'],
    });
    // One after the other, so the two do not share one CDN call (and its refusal).
    await api.service.waitForFinish(failed.id);
    const completed = await producer.enqueuePurge({
      urls: ['https://www.example.com/c.html'],
      cdns: ['vims-main'],
    });
    await api.service.waitForFinish(completed.id);
    const delayed = await producer.enqueuePurge({
      urls: ['https://www.example.com/d.html'],
      cdns: ['vims-slow'],
    });
    const jobOf = async (purgeId: string, cdnId: string) => {
      const batch = await vi.waitFor(async () => {
        const found = (await api.service.runtime.store.get(purgeId))?.batches[0];
        if (!found) throw new Error('not taken yet');
        return found;
      });
      return batchJobIdOf(batch.batchId, cdnId);
    };
    jobs = {
      failed: { queue: QUEUE, id: await jobOf(failed.id, 'vims-main') },
      completed: { queue: QUEUE, id: await jobOf(completed.id, 'vims-main') },
      delayed: { queue: 'cdn-vims-slow', id: await jobOf(delayed.id, 'vims-slow') },
    };
    slowQueue = api.service.runtime.queues().find((q) => q.name === 'cdn-vims-slow') as Queue;
    await vi.waitFor(
      async () => {
        const job = await slowQueue.getJob(jobs.delayed.id);
        expect(job?.data.remoteId).toBeDefined();
        expect(await slowQueue.getJobState(jobs.delayed.id)).toBe('delayed');
      },
      { timeout: 10_000, interval: 20 },
    );
    await vi.waitFor(async () => {
      expect(await queue.getJobState(jobs.failed.id)).toBe('failed');
      expect(await queue.getJobState(jobs.completed.id)).toBe('completed');
    });
  });
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
  });

  it('still shows every page and read-only API call', async () => {
    for (const call of READS) {
      const response = await send(api, call, jobs);
      expect(response.statusCode, `${call.method} ${call.route}`).not.toBe(403);
      expect(response.statusCode, `${call.method} ${call.route}`).toBeLessThan(500);
    }
    const page = await api.app.inject({ url: '/admin/queues', headers: AUTH });
    expect(page.statusCode).toBe(200);
    const asset = /src="(static\/js\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(asset).toBeDefined();
    expect((await api.app.inject({ url: `/admin/queues/${asset}`, headers: AUTH })).statusCode).toBe(200);
  });

  it('refuses with 403 DASHBOARD_ACTION_FORBIDDEN every action that could leave a purge unfinished, and changes nothing', async () => {
    const before = await snapshot([queue, slowQueue], jobs);
    for (const call of UNSAFE) {
      const response = await send(api, call, jobs);
      const what = `${call.method} ${call.route} ${JSON.stringify(call.params ?? {})}`;
      expect(response.statusCode, what).toBe(403);
      expect(response.json(), what).toMatchObject({ error: 'DASHBOARD_ACTION_FORBIDDEN' });
      expect(response.json().message, what).toMatch(
        /retry failed jobs, promote delayed jobs, clean completed/,
      );
    }
    expect(await snapshot([queue, slowQueue], jobs)).toEqual(before);
  });

  it('answers 404 for a job that does not exist, before anything is attempted', async () => {
    const response = await send(
      api,
      { method: 'PUT', route: '/api/queues/:queueName/:jobId/clean', params: { jobId: 'no-such-job' } },
      jobs,
    );
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('retries a failed job, promotes a delayed one and cleans finished ones', async () => {
    const polls = () => VIMS_RIG.sim(simulator).requests('status').length;
    const pollsBefore = polls();
    for (const call of SAFE) {
      const response = await send(api, call, jobs);
      expect(response.statusCode, `${call.method} ${call.route} ${response.body}`).toBe(call.status);
    }
    // The promoted poll ran at once instead of in ten minutes.
    await vi.waitFor(() => expect(polls()).toBeGreaterThan(pollsBefore), { timeout: 10_000, interval: 20 });
    expect(await queue.getJob(jobs.completed.id)).toBeUndefined();
  });
});

describe('the dashboard in read-only mode (the default)', () => {
  let api: TestApi;
  let queue: Queue;
  let jobs: Jobs;

  beforeAll(async () => {
    api = await startTestApi('http://127.0.0.1:1', {
      cdns: [{ ...VIMS_RIG.cdnEntry('http://127.0.0.1:1'), coalesce: { windowMs: 0 } }],
      dashboard: { users: [USER] },
    });
    queue = api.service.runtime.queues().find((q) => q.name === QUEUE) as Queue;
    await api.service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/w.html'] });
    const flush = await flushJob(api.service.runtime.producer.queues.get('vims-main'), 'vims-main');
    const waiting = { queue: QUEUE, id: String(flush?.id) };
    jobs = { failed: waiting, completed: waiting, delayed: waiting };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('refuses every write with 403 DASHBOARD_ACTION_FORBIDDEN, and changes nothing', async () => {
    const before = await snapshot([queue], jobs);
    for (const call of [...UNSAFE, ...SAFE]) {
      const response = await send(api, call, jobs);
      const what = `${call.method} ${call.route} ${JSON.stringify(call.params ?? {})}`;
      expect(response.statusCode, what).toBe(403);
      expect(response.json(), what).toMatchObject({ error: 'DASHBOARD_ACTION_FORBIDDEN' });
      expect(response.json().message, what).toMatch(/read-only \(dashboard\.readOnly\)/);
    }
    expect(await snapshot([queue], jobs)).toEqual(before);
  });
});

describe('the allow-list of dashboard actions', () => {
  it('covers every route of the installed bull-board, so none is decided by chance', () => {
    const tested = new Set([...UNSAFE, ...SAFE, ...READS].map((call) => `${call.method} ${call.route}`));
    for (const key of appRoutes.api.flatMap(routeKeys)) expect(tested, key).toContain(key);
  });

  it('refuses a route it does not name, as a new bull-board version might add', () => {
    expect(dashboardRule('PUT', '/api/queues/:queueName/:jobId/new-action', false)).toBeUndefined();
    expect(dashboardRule('DELETE', '/api/queues/:queueName', false)).toBeUndefined();
    expect(dashboardRule('POST', '/api/queues', false)).toBeUndefined();
    expect(dashboardRule('HEAD', '/static/*', true)).toEqual({ kind: 'read' });
  });
});
