import type { Logger } from '../observability/logger.ts';
import type { ConnectionObserver, RedisClient } from './connection.ts';

/**
 * One process's view of its Redis connections, for the log: an outage is one line when the first connection
 * loses Redis and one `Redis reconnected` line when the last of those that lost it is back. ioredis reports
 * every reconnect attempt of every connection (a process has one per CDN queue, and more), and BullMQ's
 * workers report each failed blocking call: dozens of lines a second, with stacks, for one event.
 */
export interface RedisHealth extends ConnectionObserver {
  /** True while a watched connection has lost Redis and not got it back. */
  readonly down: boolean;
  /** Logs nothing more: the process is closing its connections on purpose. */
  quiet(): void;
}

export interface RedisHealthOptions {
  log: Logger;
  /** Where Redis is, as logs may show it (host and port, never a password). */
  redis: string;
  /** Said when Redis has never answered this process: how to get one. Omitted for a cluster. */
  startHint?: string;
  now?: () => number;
}

export const REDIS_START_HINT =
  'start one (`docker compose up -d redis`, see README "docker compose"), or point REDIS_URL (or redis.url) at yours';

export function createRedisHealth(options: RedisHealthOptions): RedisHealth {
  const { log, redis } = options;
  const now = options.now ?? Date.now;
  const lost = new Set<RedisClient>();
  let answeredOnce = false;
  let downSince: number | undefined;
  let quiet = false;

  const onError = (connection: RedisClient, error: Error) => {
    if (quiet || lost.has(connection)) return;
    lost.add(connection);
    if (downSince !== undefined) return;
    downSince = now();
    const fields = { redis, err: error.message };
    if (!answeredOnce && options.startHint)
      log.error(fields, `Redis at ${redis} does not answer: ${options.startHint}; retrying until it does`);
    else log.error(fields, `Redis at ${redis} lost; retrying until it answers`);
  };
  const onReady = (connection: RedisClient) => {
    answeredOnce = true;
    lost.delete(connection);
    if (downSince === undefined || lost.size > 0) return;
    if (!quiet) log.info({ redis, downMs: now() - downSince }, 'Redis reconnected');
    downSince = undefined;
  };

  return {
    get down() {
      return lost.size > 0;
    },
    watch(connection) {
      connection.on('error', (error: Error) => onError(connection, error));
      connection.on('ready', () => onReady(connection));
      // Closed for good (quit, disconnect): it no longer counts towards an outage either way.
      connection.on('end', () => {
        lost.delete(connection);
        if (lost.size === 0) downSince = undefined;
      });
    },
    quiet() {
      quiet = true;
    },
  };
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * How a BullMQ worker's 'error' events are logged: one that only says Redis cannot be reached (a worker
 * emits one per failed blocking call, dozens a second in an outage) at debug, since the outage itself is
 * logged once by RedisHealth; any other at error, with its stack.
 */
export function workerErrorLogger(log: Logger, health?: RedisHealth) {
  return (error: Error, fields: Record<string, unknown>, msg: string): void => {
    if (isRedisConnectionError(error) || health?.down) log.debug({ ...fields, err: error.message }, msg);
    else log.error({ ...fields, err: error }, msg);
  };
}

/**
 * An error that only says Redis cannot be reached (BullMQ's workers emit one per failed blocking call): the
 * outage itself is logged once by RedisHealth, so these go to debug, not to the error log with a stack.
 */
export function isRedisConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  return /^Connection is closed|^connect E[A-Z]+ |Stream isn't writeable/.test(error.message);
}
