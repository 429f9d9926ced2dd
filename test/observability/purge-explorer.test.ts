import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';

const USER = { username: 'ops', password: 'dashboard-password-123' };
const basic = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
const auth = { authorization: basic };
/** What a person reads: the markup dropped, the entities decoded. */
function textOf(body: string): string {
  const entities: Record<string, string> = {
    '&amp;': '&',
    '&lt;': '<',
    '&gt;': '>',
    '&quot;': '"',
    '&#39;': "'",
  };
  return body
    .replace(/<[^>]+>/g, '')
    .replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => entities[entity] ?? entity);
}

const HOSTILE_PATTERN = '<img src=x onerror=alert(1)>';

describe('the purge explorer at /admin/purges', () => {
  let simulator: Simulator;
  let api: TestApi;
  let readOnly: TestApi;
  let failed: PurgeStatus;
  let succeeded: PurgeStatus;
  let hostile: string;

  const get = (app: TestApi, url: string) => app.app.inject({ url, headers: auth });
  const replay = (id: string, headers: Record<string, string>, payload = '') =>
    api.app.inject({
      method: 'POST',
      url: `/admin/purges/${id}/replay`,
      headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload,
    });

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 60, failMarker: 'broken' }));
    const cdns = [VIMS_RIG.cdnEntry(simulator.url)];
    api = await startTestApi(
      simulator.url,
      { cdns, dashboard: { users: [USER], readOnly: false } },
      { workers: true },
    );
    readOnly = await startTestApi(simulator.url, { cdns, dashboard: { users: [USER] } });
    const { producer } = api.service.runtime;
    const f = await producer.enqueuePurge({ urls: ['https://www.example.com/broken/today.html'] });
    failed = await api.service.waitForFinish(f.id);
    const s = await producer.enqueuePurge({ urls: ['https://www.example.com/fine.html'] });
    succeeded = await api.service.waitForFinish(s.id);
    hostile = (await producer.enqueuePurge({ pattern: HOSTILE_PATTERN, cdns: ['vims-main'] })).id;
    await api.service.waitForFinish(hostile);
  });
  afterAll(async () => {
    await api.close();
    await readOnly.close();
    await simulator.close();
  });

  it('asks for the dashboard credentials on every page, the stylesheet and the replay form', async () => {
    for (const [method, url] of [
      ['GET', '/admin/purges'],
      ['GET', `/admin/purges/${failed.id}`],
      ['GET', '/admin/purges/static/explorer.css'],
      ['POST', `/admin/purges/${failed.id}/replay`],
    ] as const) {
      const response = await api.app.inject({
        method,
        url,
        headers: { authorization: 'Basic b3BzOndyb25n' },
      });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="purge-worker dashboard"/);
    }
  });

  it('lists recent purges newest first, each linking to its timeline, with no script and a strict CSP', async () => {
    const response = await get(api, '/admin/purges');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    const body = response.body;
    expect(body).not.toMatch(/<script/i);
    const fine = body.indexOf(`href="/admin/purges/${succeeded.id}"`);
    const broken = body.indexOf(`href="/admin/purges/${failed.id}"`);
    expect(fine).toBeGreaterThan(0);
    expect(broken).toBeGreaterThan(fine);
    expect(body).toContain('https://www.example.com/broken/today.html');
    expect(body).toContain('CDN_TASK_FAILED');
    expect(body).toContain('href="/admin/queues"');
  });

  it('escapes what came from outside: a pattern, the filter text, a refused filter', async () => {
    const list = (await get(api, '/admin/purges')).body;
    expect(list).not.toContain(HOSTILE_PATTERN);
    expect(list).toContain('pattern &lt;img src=x onerror=alert(1)&gt;');
    const timeline = (await get(api, `/admin/purges/${hostile}`)).body;
    expect(timeline).not.toContain('<img');
    const echoed = await get(api, `/admin/purges?url=${encodeURIComponent('"><script>x</script>')}`);
    expect(echoed.statusCode).toBe(200);
    expect(echoed.body).not.toContain('<script>');
    expect(echoed.body).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    const refused = await get(api, `/admin/purges?since=${encodeURIComponent('<b>soon</b>')}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('since: &quot;&lt;b&gt;soon&lt;/b&gt;&quot; is not an ISO 8601 date');
  });

  it('filters by state, CDN, since and text in a URL', async () => {
    const byText = (await get(api, '/admin/purges?url=broken%2Ftoday&state=&cdn=&since=')).body;
    expect(byText).toContain(`/admin/purges/${failed.id}"`);
    expect(byText).not.toContain(`/admin/purges/${succeeded.id}"`);
    const byState = (await get(api, '/admin/purges?state=succeeded&cdn=vims-main&since=1h')).body;
    expect(byState).toContain(`/admin/purges/${succeeded.id}"`);
    expect(byState).not.toContain(`/admin/purges/${failed.id}"`);
    expect(byState).toContain('<option value="succeeded" selected>');
  });

  it("shows one purge's timeline per CDN: accepted, its batch and who shared it, the remote id, each poll, its end", async () => {
    const response = await get(api, `/admin/purges/${failed.id}`);
    expect(response.statusCode).toBe(200);
    const [batch] = failed.batches;
    if (!batch?.remoteId) throw new Error('the failed purge has no submitted batch');
    const text = textOf(response.body);
    expect(text).toContain('accepted: 1 target for vims-main');
    expect(text).toContain(
      `taken into batch ${batch.batchId}: 1 target in one call, 1 of them this purge's, with 0 other purges`,
    );
    expect(text).toContain(`submitted: remote id ${batch.remoteId}`);
    expect(text).toMatch(/poll 1(: \d+%)?/);
    expect(text).toMatch(/failed: FAILURE: Command failed.* \(CDN_TASK_FAILED\)/);
    const jobId = batch.batchId.slice('vims-main-'.length);
    expect(response.body).toContain(`href="/admin/queues/queue/cdn-vims-main/${jobId}"`);
    expect((await get(api, '/admin/purges/no-such-purge')).statusCode).toBe(404);
    expect((await get(api, '/admin/purges/bad%20id')).statusCode).toBe(400);
  });

  it('replays from the page, only from its own origin, and answers a second replay with the first', async () => {
    const host = { host: 'purges.test', origin: 'http://purges.test' };
    expect((await replay(failed.id, { host: 'purges.test' })).statusCode).toBe(403);
    expect((await replay(failed.id, { host: 'purges.test', origin: 'http://evil.test' })).statusCode).toBe(
      403,
    );
    expect((await replay(failed.id, { ...host, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await api.keys()).filter((key) => key.includes(':idem:'))).toEqual([]);

    const first = await replay(failed.id, host);
    expect(first.statusCode).toBe(303);
    const location = String(first.headers.location);
    const [, id] = /^\/admin\/purges\/([\w-]+)\?replayed=new$/.exec(location) ?? [];
    expect(await api.service.runtime.store.get(id as string)).toMatchObject({ replayOf: failed.id });
    const page = await get(api, location);
    expect(page.body).toContain('Replay accepted');
    expect(page.body).toContain(`href="/admin/purges/${failed.id}"`);

    const again = await replay(failed.id, {
      host: 'purges.test',
      referer: `http://purges.test/admin/purges/${failed.id}`,
    });
    expect(again.headers.location).toBe(`/admin/purges/${id}?replayed=duplicate`);
    const all = await replay(succeeded.id, host, 'all=1');
    expect(all.statusCode).toBe(303);
    const nothing = await replay(succeeded.id, host);
    expect(nothing.statusCode).toBe(409);
    expect(nothing.body).toContain('has nothing to replay: it ended succeeded');
  });

  it('offers no replay on a read-only dashboard, and refuses one posted anyway', async () => {
    const { id } = await readOnly.service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/ro.html'],
    });
    const page = await get(readOnly, `/admin/purges/${id}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('/replay"');
    expect(page.body).toContain('the dashboard is read-only');
    const posted = await readOnly.app.inject({
      method: 'POST',
      url: `/admin/purges/${id}/replay`,
      headers: { ...auth, host: 'purges.test', origin: 'http://purges.test' },
    });
    expect(posted.statusCode).toBe(403);
    expect(posted.body).toContain('the dashboard is read-only');
  });
});
