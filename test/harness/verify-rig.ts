import { Agent, request } from 'undici';
import { afterAll, afterEach } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import type { Edge } from '../../src/simulator/edges/fleet.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { startTestService, TEST_VIMS_TOKEN, type TestService, testConfigInput } from './service.ts';

/**
 * A VIMS CDN with three simulated edges and the origin, a service with workers whose `verify` checks them
 * (on loopback, which only `allowHosts` lets a check reach), and helpers to warm and publish URLs.
 * Registers its own cleanup (afterEach) in the file that imports it.
 */
const agent = new Agent();
export const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const closing of open.splice(0).reverse()) await closing.close();
});
afterAll(() => agent.close());

export const page = (name: string) => `https://www.example.com/news/${name}.html`;

export interface Rig {
  sim: Simulator;
  service: TestService;
  edges: readonly Edge[];
  purge(urls: string[], options?: { callbackUrl?: string }): Promise<string>;
  /** Fetches each URL through each edge, as readers would: every edge then holds the current version. */
  warm(urls: string[]): Promise<void>;
  /** The CMS publishes a new version of each URL at the origin: every cached copy is now stale. */
  publish(urls: string[]): void;
}

/**
 * The VIMS entry of a service that checks the simulator's edges: on loopback, which a check may reach only
 * when allowed; over plain HTTP, which the simulator's edges speak (the URLs the CMS publishes are https);
 * against its origin. `verify` overrides any of it.
 */
export function verifyingVimsEntry(sim: Simulator, verify: Record<string, unknown> = {}) {
  const origin = new URL(sim.edges.origin.url as string);
  return {
    id: 'vims-main',
    provider: 'vims',
    baseUrl: sim.url,
    token: TEST_VIMS_TOKEN,
    cdnId: 101,
    target: 'all',
    coalesce: { windowMs: 0 },
    verify: {
      allowHosts: ['127.0.0.1'],
      delayMs: 0,
      timeoutMs: 500,
      scheme: 'http',
      origin: { address: '127.0.0.1', port: Number(origin.port), protocol: 'http' },
      ...verify,
    },
  };
}

export async function rig(
  verify: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  cdn: Record<string, unknown> = {},
): Promise<Rig> {
  const sim = await startSimulator({
    vims: { tokens: [TEST_VIMS_TOKEN], taskDurationMs: 40 },
    edges: { vims: 3, quantil: 0 },
  });
  open.push(sim);
  const cdns = [{ ...verifyingVimsEntry(sim, verify), ...cdn }];
  const service = startTestService(
    testConfigInput(
      sim.url,
      { callbacks: { initialIntervalMs: 20, allowHosts: ['127.0.0.1'] }, ...extra },
      cdns,
    ),
  );
  open.push(service);
  // Metrics count from their creation on.
  service.runtime.metrics();
  const edges = sim.edges.vims.edges;
  return {
    sim,
    service,
    edges,
    async purge(urls, options = {}) {
      const { id } = await service.runtime.producer.enqueuePurge({ urls }, options);
      return id;
    },
    async warm(urls) {
      for (const edge of edges)
        for (const url of urls) {
          const { host, pathname } = new URL(url);
          const res = await request(`${edge.url}${pathname}`, { headers: { host }, dispatcher: agent });
          await res.body.dump();
        }
    },
    publish(urls) {
      for (const url of urls) sim.edges.origin.publish(url);
    },
  };
}

export const vimsBatch = (status: PurgeStatus) => status.batches.find((batch) => batch.cdnId === 'vims-main');

/** The checks an edge was asked after a moment: HEADs from the verification, never the warm-up's GETs. */
export const checksAt = (edge: Edge, since: number) =>
  edge.requests.filter((entry) => entry.method === 'HEAD' && entry.at >= since);
