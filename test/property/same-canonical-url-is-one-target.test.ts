import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalUrl } from '../../src/model/url.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { pendingTargets } from '../harness/pending.ts';

/**
 * Spellings of one URL that README says ingest makes one (scheme and host case, a default port, a fragment,
 * dot segments, a backslash for a slash, non-ASCII raw or percent-encoded) are one target of a purge, and
 * one pending target of the CDN when another purge asks for it again. Through the API and a real Redis.
 */

/** One character of a path, as two spellings the WHATWG parser writes the same way. */
const ATOMS: ReadonlyArray<readonly [string, string]> = [
  ['a', 'a'],
  ['Z', 'Z'],
  ['7', '7'],
  ['.', '.'],
  ['~', '~'],
  ['(', '('],
  ["'", "'"],
  ['%41', '%41'],
  ['é', '%C3%A9'],
  ['日', '%E6%97%A5'],
  ['😀', '%F0%9F%98%80'],
  ['"', '%22'],
  ['<', '%3C'],
  ['{', '%7B'],
  ['`', '%60'],
];
const atom = fc.constantFrom(...ATOMS);
// Not only dots: `.` and `..` are dot segments, which would resolve away the run's own token before them.
const segment = fc
  .array(atom, { minLength: 1, maxLength: 4 })
  .filter((atoms) => atoms.some(([raw]) => raw !== '.'));
/** A path as atoms per segment; the query is kept verbatim (ingest does not reorder or re-encode it). */
const resource = fc.record({
  segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
  query: fc.constantFrom('', '?a=1&b=2', '?q=%20x', '?'),
});
type Resource = { segments: Array<Array<readonly [string, string]>>; query: string };

/** How one client spells the resource: every choice here leaves the canonical URL as it is. */
const spelling = fc.record({
  scheme: fc.mixedCase(fc.constant('https')),
  host: fc.oneof(fc.mixedCase(fc.constant('www.example.com')), fc.constant('www.%65xample.com')),
  port: fc.constantFrom('', ':443', ':0443'),
  encoded: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
  dotted: fc.constantFrom('', '/.', '/x/..', '/./y/..'),
  backslash: fc.boolean(),
  trailingSlash: fc.boolean(),
  fragment: fc.constantFrom('', '#', '#top', '#a?b'),
});
type Spelling = typeof spelling extends fc.Arbitrary<infer T> ? T : never;

function spell(token: string, { segments, query }: Resource, how: Spelling, role: 'url' | 'dir'): string {
  let index = 0;
  const path = segments
    .map((atoms) => atoms.map(([raw, encoded]) => (how.encoded[index++ % 16] ? encoded : raw)).join(''))
    .join(how.backslash ? '\\' : '/');
  // A dir has no query; with or without its trailing slash it is the same directory.
  const tail = role === 'dir' ? (how.trailingSlash ? '/' : '') : query;
  return `${how.scheme}://${how.host}${how.port}/${token}${how.dotted}/${path}${tail}${how.fragment}`;
}

function canonical(raw: string, role: 'url' | 'dir'): string {
  const result = canonicalUrl(raw, role);
  if (!result.ok) throw new Error(`generator made a URL ingest refuses: ${raw}: ${result.reason}`);
  return result.value;
}

const auth = { authorization: `Bearer ${API_TOKEN}` };

describe('URLs that canonicalise the same', () => {
  let simulator: Simulator;
  let api: TestApi;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 1000 }));
    api = await startTestApi(simulator.url);
  });
  afterAll(async () => {
    await api?.close();
    await simulator?.close();
  });

  const post = (payload: unknown) =>
    api.app.inject({ method: 'POST', url: '/v1/purges', headers: auth, payload: payload as string });

  it('are one target of the purge, and one pending target when another purge asks again', async () => {
    await fc.assert(
      fc.asyncProperty(
        resource,
        fc.array(spelling, { minLength: 2, maxLength: 4 }),
        resource,
        fc.array(spelling, { minLength: 1, maxLength: 3 }),
        async (page, pageSpellings, dir, dirSpellings) => {
          // Each run's URLs are its own, so pending targets of earlier runs never join this one's.
          const token = randomUUID();
          const urls = pageSpellings.map((how) => spell(token, page, how, 'url'));
          const dirs = dirSpellings.map((how) => spell(token, dir, how, 'dir'));
          const [url] = new Set(urls.map((raw) => canonical(raw, 'url')));
          expect(new Set(urls.map((raw) => canonical(raw, 'url'))).size).toBe(1);
          expect(new Set(dirs.map((raw) => canonical(raw, 'dir'))).size).toBe(1);

          const first = await post({ urls, dirs });
          expect(first.statusCode, first.body).toBe(202);
          const status = await api.app.inject({ url: `/v1/purges/${first.json().id}`, headers: auth });
          expect(status.json()).toMatchObject({
            request: { urls: 1, dirs: 1 },
            targets: { 'vims-main': { total: 2, pending: 2 } },
          });

          const again = await post({ urls: [urls.at(-1)] });
          expect(again.statusCode, again.body).toBe(202);
          const pending = await pendingTargets(
            api.service.redis,
            api.service.config.redis.prefix,
            'vims-main',
          );
          expect(pending.filter((target) => target.includes(token)).sort()).toEqual(
            [`d ${canonical(dirs[0] as string, 'dir')}`, `u ${url}`].sort(),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('that differ stay apart: one target per distinct canonical URL', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(resource, { minLength: 1, maxLength: 4 }), spelling, async (pages, how) => {
        const token = randomUUID();
        const urls = pages.map((page) => spell(token, page, how, 'url'));
        const distinct = new Set(urls.map((raw) => canonical(raw, 'url'))).size;
        const response = await post({ urls });
        expect(response.statusCode, response.body).toBe(202);
        const status = await api.app.inject({ url: `/v1/purges/${response.json().id}`, headers: auth });
        expect(status.json()).toMatchObject({
          request: { urls: distinct },
          targets: { 'vims-main': { total: distinct } },
        });
      }),
      { numRuns: 100 },
    );
  });
});
