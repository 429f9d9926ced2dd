import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { purgeRequestSchema } from '../../src/model/purge.ts';
import { planPurge } from '../../src/pipeline/plan.ts';
import { createHttpClient } from '../../src/providers/http.ts';
import { createProvider } from '../../src/providers/registry.ts';

const config = parseConfig(
  {
    cdns: [
      {
        id: 'vims-a',
        provider: 'vims',
        baseUrl: 'http://127.0.0.1:1',
        token: 't',
        cdnId: 1,
        maxPatternLength: 100,
      },
      { id: 'vims-b', provider: 'vims', baseUrl: 'http://127.0.0.1:1', token: 't', cdnId: 2 },
    ],
    routes: [
      { hosts: ['www.example.com'], cdns: ['vims-a', 'vims-b'] },
      { hosts: ['*.img.example.com'], cdns: ['vims-b'] },
    ],
  },
  {},
);
const http = createHttpClient(config.policy.http);
const providers = new Map(config.cdns.map((cdn) => [cdn.id, createProvider(cdn, { http })]));
const plan = (request: unknown) =>
  planPurge('p1', purgeRequestSchema.parse(request), { routes: config.routes, providers });

describe('planning a purge', () => {
  it('routes each URL to the CDNs its host maps to', () => {
    const result = plan({ urls: ['https://www.example.com/a', 'https://x.img.example.com/b.jpg'] });
    expect(result.cdns).toEqual(['vims-a', 'vims-b']);
    expect(result.batches).toEqual([
      { batchId: 'vims-a-0', cdnId: 'vims-a', target: { urls: ['https://www.example.com/a'], dirs: [] } },
      {
        batchId: 'vims-b-0',
        cdnId: 'vims-b',
        target: { urls: ['https://www.example.com/a', 'https://x.img.example.com/b.jpg'], dirs: [] },
      },
    ]);
  });

  it('sends everything to the named CDNs when cdns is given', () => {
    const result = plan({ urls: ['https://unrouted.org/a'], cdns: ['vims-b'] });
    expect(result.batches.map((b) => b.cdnId)).toEqual(['vims-b']);
  });

  it("chunks by the provider's per-call bound, with deterministic batch ids", () => {
    const urls = Array.from({ length: 12 }, (_, i) => `https://www.example.com/page-${i}`);
    const ids = plan({ urls, cdns: ['vims-a'] }).batches.map((b) => b.batchId);
    expect(ids.length).toBeGreaterThan(1);
    expect(ids).toEqual(ids.map((_, i) => `vims-a-${i}`));
  });

  it('refuses unknown CDNs, unrouted hosts, and pattern or all without named CDNs', () => {
    expect(() => plan({ urls: ['https://www.example.com/a'], cdns: ['ghost'] })).toThrow(
      /unknown CDN id\(s\): ghost/,
    );
    expect(() => plan({ urls: ['https://nowhere.org/a'] })).toThrow(/no route covers host\(s\) nowhere\.org/);
    expect(() => plan({ pattern: 'jpg' })).toThrow(/must name its CDNs/);
    expect(() => plan({ all: true })).toThrow(/must name its CDNs/);
  });
});

describe('purge request validation', () => {
  const issues = (request: unknown) => {
    const parsed = purgeRequestSchema.safeParse(request);
    return parsed.success
      ? []
      : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('accepts each kind alone', () => {
    expect(issues({ urls: ['https://a.example/x'] })).toEqual([]);
    expect(issues({ dirs: ['https://a.example/news/'] })).toEqual([]);
    expect(issues({ pattern: '\\.jpg$', cdns: ['x'] })).toEqual([]);
    expect(issues({ all: true, cdns: ['x'] })).toEqual([]);
  });

  it('refuses empty purges, non-http URLs, bad regexes and all mixed with targets', () => {
    expect(issues({})).toEqual([': a purge needs urls, dirs, pattern, tags or all: true']);
    expect(issues({ urls: ['ftp://a.example/x'] })).toEqual(['urls.0: must be an absolute http(s) URL']);
    expect(issues({ pattern: '(' })).toEqual(['pattern: pattern is not a valid regular expression']);
    expect(issues({ pattern: 'a'.repeat(2000) })).toEqual([
      'pattern: pattern is longer than 1024 characters',
    ]);
    expect(issues({ all: true, urls: ['https://a.example/x'] })).toEqual([
      'all: all: true cannot be combined with other targets',
    ]);
    expect(issues({ urls: ['https://a.example/x'], extra: 1 })).toHaveLength(1);
  });
});
