import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';

const USER = { username: 'ops', password: 'dashboard-password-123' };
const basic = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;

interface DashboardJob {
  id: string;
  progress: unknown;
  data: { batchId?: string };
}

/** bull-board's own JSON for a queue's jobs in one state, as its page reads it. */
async function dashboardJobs(api: TestApi, status: 'delayed' | 'completed'): Promise<DashboardJob[]> {
  const response = await api.app.inject({
    url: `/admin/queues/api/queues?activeQueue=cdn-vims-main&status=${status}&page=1`,
    headers: { authorization: basic },
  });
  const body = response.json<{ queues: Array<{ name: string; jobs: DashboardJob[] }> }>();
  return body.queues.find((queue) => queue.name === 'cdn-vims-main')?.jobs ?? [];
}

describe("the dashboard's view of a batch job", () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    // A task long enough to be seen part way, with polls often enough to see it move.
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 1_500 }));
    api = await startTestApi(
      simulator.url,
      {
        cdns: [{ ...VIMS_RIG.cdnEntry(simulator.url), coalesce: { windowMs: 0 } }],
        dashboard: { users: [USER] },
      },
      { workers: true },
    );
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it("shows the CDN's progress while the batch is polled, and 100 once it is done", async () => {
    const { id } = await api.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/progress.html'],
    });
    const partWay = await vi.waitFor(
      async () => {
        const [job] = (await dashboardJobs(api, 'delayed')).filter((entry) => entry.data.batchId);
        expect(job?.progress).toBeGreaterThan(0);
        expect(job?.progress).toBeLessThan(100);
        return job as DashboardJob;
      },
      { timeout: 10_000, interval: 20 },
    );
    await api.service.waitForFinish(id);
    const done = (await dashboardJobs(api, 'completed')).find((entry) => entry.id === partWay.id);
    expect(done?.progress).toBe(100);
  });
});
