import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { inject, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { type Config, usesTls } from '../../src/config/schema.ts';
import type { PurgeRequestInput } from '../../src/model/purge.ts';
import type { PurgeStatus } from '../../src/model/status.ts';
import type { HostLookup } from '../../src/net/address-guard.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { tlsOptions } from '../../src/queue/connection.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { uniquePrefix } from './prefix.ts';

export const TEST_VIMS_TOKEN = 'sk_live_test_secret_token';

/** Timings shrunk so the pipeline's real timers (polls, retries, stalled checks) run in well under a second. */
export function testConfigInput(
  simulatorUrl: string,
  overrides: Record<string, unknown> = {},
  cdns: Array<Record<string, unknown>> = [
    {
      id: 'vims-main',
      provider: 'vims',
      baseUrl: simulatorUrl,
      token: TEST_VIMS_TOKEN,
      cdnId: 101,
      target: 'all',
    },
  ],
) {
  return {
    redis: { url: inject('redisUrl'), prefix: uniquePrefix() },
    cdns,
    routes: [{ hosts: ['www.example.com', '*.example.com'], cdns: cdns.map((cdn) => String(cdn.id)) }],
    policy: {
      submit: { attempts: 4, initialIntervalMs: 20, maxIntervalMs: 200, jitter: 0 },
      poll: { initialIntervalMs: 20, maxIntervalMs: 100, jitter: 0, deadlineMs: 10_000 },
      http: { connectTimeoutMs: 1_000, headersTimeoutMs: 1_000, bodyTimeoutMs: 1_000, totalTimeoutMs: 2_000 },
    },
    worker: { lockDurationMs: 1_000, stalledIntervalMs: 300, shutdownGraceMs: 2_000 },
    // Port 0: a test that starts a server gets a free port, never a clash with another file.
    api: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    log: { level: 'debug' },
    ...overrides,
  };
}

export interface TestService {
  config: Config;
  runtime: Runtime;
  /** Every JSON line the service logged, parsed. */
  logs: Array<Record<string, unknown>>;
  rawLogs(): string;
  redis: Redis;
  waitForFinish(purgeId: string, timeoutMs?: number): Promise<PurgeStatus>;
  close(): Promise<void>;
}

export interface TestServiceOptions {
  workers?: boolean;
  /** Answers for host names, as data: tests never use real DNS. */
  lookup?: HostLookup;
  /** The service's clock, for a test that moves time on instead of waiting for it. */
  now?: () => number;
}

export function startTestService(configInput: unknown, options: TestServiceOptions = {}): TestService {
  const config = parseConfig(configInput, {});
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ level: config.log.level, destination: sink });
  const runtime = createRuntime(config, {
    log,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  if (options.workers !== false) runtime.startWorkers();
  // The test's own look at the standalone Redis, over TLS when the service's is.
  const redis = new Redis(
    config.redis.url,
    usesTls(config.redis.url) ? { tls: tlsOptions(config.redis.tls) } : {},
  );
  return {
    config,
    runtime,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    rawLogs: () => lines.join('\n'),
    redis,
    waitForFinish: (purgeId, timeoutMs = 15_000) => waitForFinish(runtime, purgeId, timeoutMs),
    async close() {
      await runtime.close();
      redis.disconnect();
    },
  };
}

/** Waits on the purge record (not on time) until every batch is terminal. */
export function waitForFinish(runtime: Runtime, purgeId: string, timeoutMs: number): Promise<PurgeStatus> {
  return vi.waitFor(
    async () => {
      const status = await runtime.store.get(purgeId);
      if (!status || !['succeeded', 'failed', 'timed_out'].includes(status.state)) {
        throw new Error(`purge ${purgeId} not finished: ${JSON.stringify(status?.batches ?? null)}`);
      }
      return status;
    },
    { timeout: timeoutMs, interval: 20 },
  );
}

/**
 * One purge through the service to its end, with the CDN requests it made: `sent` reads a simulator's log
 * (its submits, say), and what it held before the purge is left out.
 */
export async function purgeThrough<Sent>(
  service: TestService,
  sent: () => readonly Sent[],
  request: PurgeRequestInput,
): Promise<{ status: PurgeStatus; sent: Sent[] }> {
  const before = sent().length;
  const { id } = await service.runtime.producer.enqueuePurge(request);
  const status = await service.waitForFinish(id);
  return { status, sent: sent().slice(before) };
}
