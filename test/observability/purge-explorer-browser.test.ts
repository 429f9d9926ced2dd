import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { hasChromium as hasChromiumFor, launchChromium } from '../harness/browser.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';

const hasChromium = hasChromiumFor('explorer browser test');
const USER = { username: 'ops', password: 'dashboard-password-123' };

describe.skipIf(!hasChromium)('a person finding a purge in the explorer with a real browser', () => {
  let simulator: Simulator;
  let api: TestApi;
  let base: string;
  let failed: PurgeStatus;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 60, failMarker: 'broken' }));
    api = await startTestApi(
      simulator.url,
      { cdns: [VIMS_RIG.cdnEntry(simulator.url)], dashboard: { users: [USER], readOnly: false } },
      { workers: true },
    );
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
    const { producer } = api.service.runtime;
    const { id } = await producer.enqueuePurge({ urls: ['https://www.example.com/broken/my-article.html'] });
    failed = await api.service.waitForFinish(id);
    // Newer purges around it, so finding it takes the filter.
    for (const name of ['one', 'two', 'three']) {
      await api.service.waitForFinish(
        (await producer.enqueuePurge({ urls: [`https://www.example.com/${name}.html`] })).id,
      );
    }
  });
  afterAll(async () => {
    await api.close();
    await simulator.close();
  });

  it("goes from the queue dashboard's menu to the purge, its timeline, and replays it", async () => {
    const [batch] = failed.batches;
    if (!batch?.remoteId) throw new Error('the purge has no submitted batch');
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ httpCredentials: USER });
      // Loopback only: bull-board's page asks for Google Fonts, which this test must not even look up.
      await context.route(
        (url) => url.hostname !== '127.0.0.1',
        (route) => route.abort('blockedbyclient'),
      );
      const page = await context.newPage();
      // A step that cannot happen fails in seconds, naming itself, not at the test's timeout.
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });

      await page.goto(`${base}/admin/queues`);
      await page.getByText('purge-worker').first().waitFor();
      // bull-board's header menu (its miscLinks) links to the explorer.
      await page.locator('header ul > li').last().locator('button').click();
      await page.getByText('Purges', { exact: true }).click();
      await page.waitForURL(`${base}/admin/purges`);
      // From here on, only the explorer's own pages (bull-board's font request was refused above).
      errors.length = 0;

      await page.getByLabel('URL contains').fill('my-article');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/\/admin\/purges\?.*url=my-article/);
      const rows = page.locator('tbody tr');
      expect(await rows.count()).toBe(1);
      await page.getByRole('link', { name: 'https://www.example.com/broken/my-article.html' }).click();
      await page.waitForURL(`${base}/admin/purges/${failed.id}`);

      const section = page.locator('section[data-cdn="vims-main"]');
      await section.getByText(`taken into batch ${batch.batchId}`).waitFor();
      await section.getByText(`submitted: remote id ${batch.remoteId}`).waitFor();
      await section.getByText(/\(CDN_TASK_FAILED\)/).waitFor();
      await page.screenshot({ path: join(tmpdir(), 'purge-worker-explorer.png'), fullPage: true });

      await page.getByRole('button', { name: 'Replay what failed' }).click();
      await page.getByText('Replay accepted').waitFor();
      const replayId = /\/admin\/purges\/([\w-]+)\?replayed=new$/.exec(page.url())?.[1];
      expect(await api.service.runtime.store.get(replayId as string)).toMatchObject({ replayOf: failed.id });
      // Nothing the explorer's pages load is refused by their CSP or missing.
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
