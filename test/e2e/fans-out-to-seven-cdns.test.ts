import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AKAMAI_CLIENT } from '../../src/simulator/akamai.ts';
import { DEFAULT_CLOUDFLARE_TOKEN, DEFAULT_CLOUDFLARE_ZONE } from '../../src/simulator/cloudflare.ts';
import { DEFAULT_CLOUDFRONT_ACCOUNT, DEFAULT_DISTRIBUTION_ID } from '../../src/simulator/cloudfront.ts';
import { DEFAULT_FASTLY_SERVICE, DEFAULT_FASTLY_TOKEN } from '../../src/simulator/fastly.ts';
import { type MoreCdns, startMoreCdns } from '../../src/simulator/more-cdns.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';

const ALL = ['vims-main', 'quantil-main', 'cloudfront', 'fastly', 'cloudflare', 'akamai', 'varnish'];

/** The five other CDNs against their simulators, as examples/demo.json configures them. */
function moreEntries(more: MoreCdns): Array<Record<string, unknown>> {
  const [varnishBase, ...varnishNodes] = more.varnish.urls;
  return [
    {
      id: 'cloudfront',
      provider: 'cloudfront',
      baseUrl: more.cloudfront.url,
      distributionId: DEFAULT_DISTRIBUTION_ID,
      ...DEFAULT_CLOUDFRONT_ACCOUNT,
      cacheTags: true,
    },
    {
      id: 'fastly',
      provider: 'fastly',
      baseUrl: more.fastly.url,
      serviceId: DEFAULT_FASTLY_SERVICE,
      token: DEFAULT_FASTLY_TOKEN,
    },
    {
      id: 'cloudflare',
      provider: 'cloudflare',
      baseUrl: more.cloudflare.url,
      zoneId: DEFAULT_CLOUDFLARE_ZONE,
      apiToken: DEFAULT_CLOUDFLARE_TOKEN,
    },
    { id: 'akamai', provider: 'akamai', baseUrl: more.akamai.url, ...DEFAULT_AKAMAI_CLIENT },
    { id: 'varnish', provider: 'varnish', baseUrl: varnishBase, nodes: varnishNodes },
  ];
}

describe('one purge routed to all seven CDNs at once', () => {
  let simulator: Simulator;
  let more: MoreCdns;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions({ taskDurationMs: 100 }),
      ...QUANTIL_RIG.simulatorOptions({ taskDurationMs: 200 }),
    });
    more = await startMoreCdns({
      basePort: 0,
      taskDurationMs: 300,
      // Tagged: `#tag` paths are refused (InvalidArgument) by a distribution without a CacheTagConfig.
      cloudfrontDistributions: [{ id: DEFAULT_DISTRIBUTION_ID, cacheTags: true }],
    });
    const cdns = [
      VIMS_RIG.cdnEntry(simulator.url),
      QUANTIL_RIG.cdnEntry(simulator.url),
      ...moreEntries(more),
    ];
    service = startTestService(testConfigInput(simulator.url, {}, cdns));
  });
  afterAll(async () => {
    await service?.close();
    await Promise.all([simulator?.close(), more?.close()]);
  });

  it('reaches every CDN in its own wire, each batch ending as that CDN defines done', async () => {
    const url = 'https://www.example.com/news/fan-out.html';
    const { id, cdns } = await service.runtime.producer.enqueuePurge({ urls: [url] });
    expect([...cdns].sort()).toEqual([...ALL].sort());

    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    const byCdn = new Map(status.batches.map((batch) => [batch.cdnId, batch]));
    expect([...byCdn.keys()].sort()).toEqual([...ALL].sort());
    for (const batch of status.batches) expect(batch).toMatchObject({ state: 'succeeded', items: 1 });
    // Polled where the CDN has a status endpoint; done at acceptance, saying so, where it has none.
    for (const polled of ['vims-main', 'quantil-main', 'cloudfront'])
      expect(byCdn.get(polled)?.polls).toBeGreaterThan(0);
    for (const settled of ['fastly', 'cloudflare', 'akamai'])
      expect(byCdn.get(settled)).toMatchObject({ polls: 0, completion: expect.any(String) });

    expect(simulator.vims.tasks.map((task) => task.pattern)).toEqual(['^\\/news\\/fan-out\\.html$']);
    expect(simulator.quantil.purges.flatMap((purge) => purge.items.map((item) => item.path))).toEqual([url]);
    expect(more.cloudfront.invalidations.map((inv) => inv.paths)).toEqual([['/news/fan-out.html']]);
    expect(more.fastly.purges.map((purge) => [purge.kind, purge.target])).toEqual([
      ['url', 'www.example.com/news/fan-out.html'],
    ]);
    expect(more.cloudflare.purges.map((purge) => purge.purge)).toMatchObject([
      { field: 'files', files: [{ url }] },
    ]);
    expect(more.akamai.purges.map((purge) => purge.objects)).toEqual([[url]]);
    for (const node of more.varnish.nodes)
      expect(node.requests.filter((r) => r.op === 'submit').map((r) => [r.method, r.path])).toEqual([
        ['PURGE', '/news/fan-out.html'],
      ]);
  });

  it('sends a tags purge to every CDN that has tags, each in its own spelling', async () => {
    const { id, cdns } = await service.runtime.producer.enqueuePurge({ tags: ['article-42'] });
    expect([...cdns].sort()).toEqual(['akamai', 'cloudflare', 'cloudfront', 'fastly']);

    const status = await service.waitForFinish(id);
    expect(status.state).toBe('succeeded');
    expect(status.batches.map((batch) => [batch.cdnId, batch.state]).sort()).toEqual([
      ['akamai', 'succeeded'],
      ['cloudflare', 'succeeded'],
      ['cloudfront', 'succeeded'],
      ['fastly', 'succeeded'],
    ]);
    expect(more.cloudfront.invalidations.at(-1)?.paths).toEqual(['#article-42']);
    expect(more.fastly.purges.at(-1)).toMatchObject({ kind: 'keys', target: ['article-42'] });
    expect(more.cloudflare.purges.at(-1)?.purge).toEqual({ field: 'tags', items: ['article-42'] });
    expect(more.akamai.purges.at(-1)).toMatchObject({ type: 'tag', objects: ['article-42'] });
  });
});
