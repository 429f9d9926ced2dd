import type { MoreCdns } from './more-cdns.ts';
import { isProgressCurve, PROGRESS_CURVES, type ProgressCurve } from './progress-curves.ts';
import type { Simulator } from './server.ts';

/** The simulator's settings from its environment (SIM_*), shared by `npm run simulator` and the demo. */
export interface SimulatorSettings {
  port: number;
  /** How long tasks take, and how they report progress: what both CDNs' simulators are given. */
  tasks: TaskSettings;
  /** Caching edges per CDN, each on a free loopback port. */
  edgeCount: number;
}

export interface TaskSettings {
  taskDurationMs: number;
  /** Set (SIM_TASK_MAX_MS above SIM_TASK_MS): each task's duration drawn up to it, evenly in log-space. */
  taskDurationMaxMs?: number;
  progressCurve: ProgressCurve;
}

export const DEFAULT_SIMULATOR_PORT = 8787;

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

function curveFromEnv(env: NodeJS.ProcessEnv, name: string): ProgressCurve {
  const raw = env[name];
  if (raw === undefined || raw === '') return 'linear';
  if (!isProgressCurve(raw)) throw new Error(`${name} must be one of ${PROGRESS_CURVES.join(', ')}`);
  return raw;
}

export function simulatorSettings(env: NodeJS.ProcessEnv): SimulatorSettings {
  const taskDurationMs = intFromEnv(env, 'SIM_TASK_MS', 3000);
  const maxMs = intFromEnv(env, 'SIM_TASK_MAX_MS', 0);
  return {
    port: intFromEnv(env, 'SIM_PORT', DEFAULT_SIMULATOR_PORT),
    tasks: {
      taskDurationMs,
      ...(maxMs > taskDurationMs ? { taskDurationMaxMs: maxMs } : {}),
      progressCurve: curveFromEnv(env, 'SIM_PROGRESS'),
    },
    // Per CDN: two VIMS edges (its CDN_HOSTs) and two QUANTIL edges by default, so the demo's purges are
    // verified at the edge (examples/demo.json); SIM_EDGES=0 runs none.
    edgeCount: intFromEnv(env, 'SIM_EDGES', 2),
  };
}

/** What a start-up line says of a running simulator. Credentials are deliberately absent, demo ones too. */
export function describeSimulator(sim: Simulator, more: MoreCdns) {
  return {
    url: sim.url,
    providers: ['vims', 'quantil'],
    moreCdns: describeMoreCdns(more),
    vimsServices: sim.vims.services.map((s) => ({ id: s.id, hosts: s.hosts.map((h) => h.vmId) })),
    edges: {
      vims: sim.edges.vims.addresses().map(({ id, url }) => ({ id, url })),
      quantil: sim.edges.quantil.addresses().map(({ id, url }) => ({ id, url })),
      origin: sim.edges.origin.url ?? null,
    },
  };
}

/** Where each of the five other CDNs listens: what a config names as its `baseUrl` (Varnish: its nodes). */
export function describeMoreCdns(more: MoreCdns) {
  return {
    cloudfront: more.cloudfront.url,
    fastly: more.fastly.url,
    cloudflare: more.cloudflare.url,
    akamai: more.akamai.url,
    varnish: [...more.varnish.urls],
  };
}
