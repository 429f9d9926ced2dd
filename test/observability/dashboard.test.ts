import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { hasChromium as hasChromiumFor, launchChromium } from '../harness/browser.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { flushJob } from '../harness/pending.ts';

const hasChromium = hasChromiumFor('dashboard browser test');
const USER = { username: 'ops', password: 'dashboard-password-123' };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the queue dashboard at /admin/queues', () => {
  let simulator: Simulator;
  let api: TestApi;
  let base: string;
  let jobId: string;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 100 }));
    // No window: the purge's flush job waits at once (no worker runs here to take it).
    api = await startTestApi(simulator.url, {
      cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } }],
      dashboard: { users: [USER] },
    });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    await api.service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/seen.html'] });
    const flush = await flushJob(api.service.runtime.producer.queues.get('vims-main'), 'vims-main');
    jobId = String(flush?.id);
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it('asks for credentials and refuses wrong ones', async () => {
    for (const headers of [{}, { authorization: basic(USER.username, 'wrong-password-0000') }]) {
      const response = await api.app.inject({ url: '/admin/queues', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="purge-worker dashboard"/);
    }
    const api401 = await api.app.inject({ url: '/admin/queues/api/queues' });
    expect(api401.statusCode).toBe(401);
  });

  it("lists every purge-worker queue, read-only, with the test's job in it", async () => {
    const response = await api.app.inject({
      url: '/admin/queues/api/queues?activeQueue=cdn-vims-main&status=waiting&page=1',
      headers: { authorization: basic(USER.username, USER.password) },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json<{
      queues: Array<{ name: string; readOnlyMode: boolean; jobs: Array<{ id: string }> }>;
    }>();
    expect(body.queues.map((q) => q.name).sort()).toEqual(['callbacks', 'cdn-vims-main']);
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
    const queue = body.queues.find((q) => q.name === 'cdn-vims-main');
    expect(queue?.jobs.map((job) => job.id)).toContain(jobId);
    expect(response.body).not.toContain(VIMS_RIG.secret);
  });

  it.skipIf(!hasChromium)('shows the job to a person who logs in with a real browser', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ httpCredentials: USER });
      const page = await context.newPage();
      await page.goto(`${base}/admin/queues/queue/cdn-vims-main?status=waiting`);
      await page.getByText('purge-worker').first().waitFor();
      await page.getByText(`vims-main`).first().waitFor({ timeout: 15_000 });
      expect(await page.title()).toMatch(/purge-worker/i);
      await page.screenshot({ path: join(tmpdir(), 'purge-worker-dashboard.png') });
    } finally {
      await browser.close();
    }
  });
});
