import { HOSTS } from './sender.ts';

export const VIMS_TOKEN = 'sk_live_chaos_token';
export const QUANTIL_ACCOUNT = { user: 'chaos', apiKey: 'chaos-quantil-api-key' };
export const API_TOKEN = 'chaos-api-token-for-the-rig';
export const PREFIX = '{chaos}';
export const CDN_IDS = { vims: 'vims-chaos', quantil: 'quantil-chaos' } as const;

export interface ChaosConfigOptions {
  /** A cluster phase also waits for one replica per acceptance (redis.waitReplicas): a failover loses none. */
  redis: { url: string } | { clusterNodes: string[]; waitReplicas: { replicas: number; timeoutMs: number } };
  simulatorUrl: string;
  apiPort: number;
  reconcileIntervalMs: number;
}

/**
 * The config file every process of a phase runs: production's shape with timings a run of a minute can
 * see through (locks that lapse in 2 s, a reconciler every few seconds), enough submit attempts that a
 * rain of faults cannot exhaust them, and a deadline no kill or restart comes near.
 */
export function chaosConfig(options: ChaosConfigOptions): Record<string, unknown> {
  const cdns = [
    {
      id: CDN_IDS.vims,
      provider: 'vims',
      baseUrl: options.simulatorUrl,
      token: VIMS_TOKEN,
      cdnId: 101,
      target: 'all',
      concurrency: 4,
    },
    {
      id: CDN_IDS.quantil,
      provider: 'quantil',
      baseUrl: options.simulatorUrl,
      user: QUANTIL_ACCOUNT.user,
      apiKey: QUANTIL_ACCOUNT.apiKey,
      concurrency: 4,
    },
  ];
  return {
    redis: { ...options.redis, prefix: PREFIX },
    cdns,
    routes: [
      { hosts: [HOSTS.vims], cdns: [CDN_IDS.vims] },
      { hosts: [HOSTS.quantil], cdns: [CDN_IDS.quantil] },
      { hosts: [HOSTS.both], cdns: [CDN_IDS.vims, CDN_IDS.quantil] },
    ],
    policy: {
      submit: { attempts: 12, initialIntervalMs: 100, maxIntervalMs: 1_000 },
      poll: { initialIntervalMs: 100, maxIntervalMs: 500, deadlineMs: 180_000 },
      http: { connectTimeoutMs: 1_000, headersTimeoutMs: 1_500, bodyTimeoutMs: 1_500, totalTimeoutMs: 2_000 },
      maxRetryAfterMs: 2_000,
    },
    worker: { lockDurationMs: 2_000, stalledIntervalMs: 1_000, shutdownGraceMs: 2_000 },
    reconcile: { intervalMs: options.reconcileIntervalMs },
    api: { host: '127.0.0.1', port: options.apiPort, tokens: [{ name: 'cms', token: API_TOKEN }] },
    // Each worker process serves its metrics on a port of its own.
    metrics: { host: '127.0.0.1', port: 0 },
    log: { level: 'info' },
  };
}
