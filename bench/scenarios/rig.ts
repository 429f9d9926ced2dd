import type { Queue } from 'bullmq';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { deletePrefix } from '../redis.ts';
import { type BenchContext, uniquePrefix } from './common.ts';

export const VIMS_TOKEN = 'sk_live_bench_token';
export const QUANTIL_ACCOUNT = { user: 'bench', apiKey: 'bench-quantil-api-key' };
export const BENCH_HOST = 'www.example.com';

export type CdnKind = 'vims' | 'quantil';

/** The id each kind's CDN entry has in a bench config. */
export const CDN_ID: Record<CdnKind, string> = { vims: 'vims-bench', quantil: 'quantil-bench' };

/** As written in a config file; the step-job baseline parses the same values, so both wait alike. */
export const BENCH_POLICY = {
  // Jitter 0 everywhere: random delays would be noise we add ourselves.
  submit: { attempts: 3, initialIntervalMs: 10, maxIntervalMs: 100, jitter: 0 },
  poll: { initialIntervalMs: 1, maxIntervalMs: 5, jitter: 0, deadlineMs: 120_000 },
  http: {
    connectTimeoutMs: 2_000,
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    totalTimeoutMs: 10_000,
  },
};

// Long locks: a loaded 2-core machine must not turn a slow job into a stalled re-run mid-measurement.
export const BENCH_WORKER = { lockDurationMs: 30_000, stalledIntervalMs: 30_000, shutdownGraceMs: 5_000 };

/**
 * Polls a batch makes against the rig's simulator: its tasks take 0 ms, so the first poll finds them done.
 * The step-job baseline makes as many; the pipeline scenario checks the simulator saw exactly these.
 */
export const POLLS_PER_BATCH = 1;

/**
 * How a rig's CDNs share calls. `one-per-call`: one URL per CDN call (the shortest VIMS pattern, one QUANTIL
 * item) and no window, so every purge is a batch of its own and a batch's whole walk can be compared with the
 * step-job baseline. `default`: coalescing as shipped (window 250 ms, the providers' real per-call limits).
 */
export type Coalescing = 'one-per-call' | 'default';

/** The config file a rig runs, as written (unparsed): a forked worker process parses the same object. */
export function benchConfigInput(
  redisUrl: string,
  prefix: string,
  simulatorUrl: string,
  cdns: readonly CdnKind[],
  concurrency: number,
  coalescing: Coalescing = 'one-per-call',
): Record<string, unknown> {
  const onePerCall = coalescing === 'one-per-call';
  const entries = cdns.map((kind) =>
    kind === 'vims'
      ? {
          id: CDN_ID.vims,
          provider: 'vims',
          baseUrl: simulatorUrl,
          token: VIMS_TOKEN,
          cdnId: 101,
          target: 'all',
          concurrency,
          ...(onePerCall
            ? { maxPatternLength: 64, patternScope: 'url', coalesce: { windowMs: 0, bulkWindowMs: 0 } }
            : {}),
        }
      : {
          id: CDN_ID.quantil,
          provider: 'quantil',
          baseUrl: simulatorUrl,
          user: QUANTIL_ACCOUNT.user,
          apiKey: QUANTIL_ACCOUNT.apiKey,
          concurrency,
          ...(onePerCall ? { maxItemsPerCall: 1, coalesce: { windowMs: 0, bulkWindowMs: 0 } } : {}),
        },
  );
  return {
    redis: { url: redisUrl, prefix },
    cdns: entries,
    routes: [{ hosts: [BENCH_HOST], cdns: entries.map((entry) => entry.id) }],
    policy: BENCH_POLICY,
    worker: BENCH_WORKER,
    api: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
  };
}

/** Production's shape with test-sized timings: no seconds-long poll waits, no jitter. */
export function benchConfig(
  redisUrl: string,
  prefix: string,
  simulatorUrl: string,
  cdns: readonly CdnKind[],
  concurrency: number,
  coalescing: Coalescing = 'one-per-call',
): Config {
  return parseConfig(
    benchConfigInput(redisUrl, prefix, simulatorUrl, cdns, concurrency, coalescing),
    // An empty env: nothing from the caller's environment may leak into the bench config.
    {},
    'bench config',
  );
}

export interface Rig {
  prefix: string;
  runtime: Runtime;
  simulator: Simulator;
  /** The CDN queues (not the callbacks queue): where batch jobs complete. */
  queues: Queue[];
  close(): Promise<void>;
}

/** A simulator with instant tasks and a runtime wired to it, under a prefix of its own. */
export async function startRig(
  ctx: BenchContext,
  cdns: readonly CdnKind[],
  concurrency: number,
): Promise<Rig> {
  // Instant tasks: what POLLS_PER_BATCH counts on.
  const simulator = await startSimulator({
    vims: { tokens: [VIMS_TOKEN], taskDurationMs: 0 },
    quantil: { accounts: [QUANTIL_ACCOUNT], taskDurationMs: 0 },
  });
  const prefix = uniquePrefix();
  const config = benchConfig(ctx.redisUrl, prefix, simulator.url, cdns, concurrency);
  const runtime = createRuntime(config, { log: createLogger({ level: 'silent' }) });
  return {
    prefix,
    runtime,
    simulator,
    queues: [...runtime.producer.queues.values()],
    async close() {
      await runtime.close();
      await simulator.close();
      await deletePrefix(ctx.redisUrl, prefix);
    },
  };
}

export function benchUrl(index: number, variant = 0): string {
  return `https://${BENCH_HOST}/bench/${variant}/${index}.html`;
}
