import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TOKEN, startTestApi, type TestApi, WEBHOOK_SECRET } from '../harness/api.ts';
import { hasChromium as hasChromiumFor, launchChromium } from '../harness/browser.ts';

const hasChromium = hasChromiumFor('API reference browser test');

/**
 * /docs as a person uses it, in headless Chromium: the reference renders every operation from /openapi.json,
 * under the CSP the page is served with, loading nothing from anywhere but this server, and "Try it out" calls
 * the API itself.
 */
describe.skipIf(!hasChromium)('the API reference at /docs in a real browser', () => {
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    api = await startTestApi('http://127.0.0.1:9', {
      api: { host: '127.0.0.1', port: 0, tokens: [API_TOKEN], webhook: { secret: WEBHOOK_SECRET } },
    });
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => api.close());

  it('shows every operation and its error codes, and runs one, with nothing refused or fetched elsewhere', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const elsewhere: string[] = [];
      await context.route(
        (url) => url.hostname !== '127.0.0.1',
        (route) => {
          elsewhere.push(route.request().url());
          return route.abort('blockedbyclient');
        },
      );
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      // Every CSP refusal, as the page itself sees it (an init script runs before the page's own).
      await page.addInitScript({
        content: `window.cspViolations = [];
          document.addEventListener('securitypolicyviolation', (event) =>
            window.cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));`,
      });

      const response = await page.goto(`${base}/docs`);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.locator('.opblock').first().waitFor();
      const operations = await page.locator('.opblock-summary-path').allInnerTexts();
      expect(operations.map((path) => path.replace(/\u200b/g, '')).sort()).toEqual(
        [
          '/healthz',
          '/metrics',
          '/readyz',
          '/v1/events/publish',
          '/v1/purges',
          '/v1/purges',
          '/v1/purges/{id}',
          '/v1/purges/{id}/replay',
        ].sort(),
      );

      // An operation's responses list its statuses, and the codes each can carry.
      await page.locator('#operations-Purges-createPurge .opblock-summary').click();
      const responses = page.locator('#operations-Purges-createPurge .responses-table');
      await responses.locator('tr.response[data-code="429"]').waitFor();
      await expect
        .poll(() => responses.locator('tr.response[data-code="429"]').textContent())
        .toMatch(/BACKLOG_FULL/);

      // "Try it out" on /healthz: the browser calls this API, which the CSP allows ('self').
      const health = page.locator('#operations-Operations-liveness');
      await health.locator('.opblock-summary').click();
      await health.getByRole('button', { name: 'Try it out' }).click();
      await health.getByRole('button', { name: 'Execute' }).click();
      const status = health.locator('.live-responses-table tbody .response-col_status').first();
      await status.waitFor();
      expect(await status.textContent()).toContain('200');
      await page.screenshot({ path: join(tmpdir(), 'purge-worker-api-docs.png'), fullPage: false });

      expect(await page.evaluate('window.cspViolations')).toEqual([]);
      expect(elsewhere).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
