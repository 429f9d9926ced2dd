import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis } from 'ioredis';
import { type RedisTlsConfig, usesTls } from '../config/schema.ts';
import { PurgeError } from '../errors.ts';
import { coalesceWrites } from './coalesced-writes.ts';

export type ConnectionRole = 'worker' | 'producer';

/** A standalone Redis or a Redis Cluster: BullMQ and our scripts work the same on both (one hash slot). */
export type RedisClient = Redis | Cluster;

/** Where a connection reports that Redis went away (ioredis keeps reconnecting on its own). */
export type ConnectionErrorSink = (error: Error) => void;

/** Follows a connection's errors and recoveries itself (one process's RedisHealth, see redis-health.ts). */
export interface ConnectionObserver {
  watch(connection: RedisClient): void;
}

export interface RedisTarget {
  url: string;
  /** Seed nodes of a Redis Cluster (`redis://host:port`); when given, `url` is not used. */
  clusterNodes?: readonly string[] | undefined;
  /** How a `rediss://` connection checks the server (config's `redis.tls`). */
  tls?: RedisTlsConfig | undefined;
}

// While Redis is down ioredis reports every reconnect attempt; one line per streak is enough for a log.
function reportOncePerOutage(connection: RedisClient, onError: ConnectionErrorSink): void {
  let reported = false;
  const report = (error: Error) => {
    if (!reported) onError(error);
    reported = true;
  };
  connection.on('error', report);
  connection.on('ready', () => {
    reported = false;
  });
}

/**
 * Longest a producer's Redis command may take before its caller is answered REDIS_UNAVAILABLE. Far above
 * any command it sends (accepting a 10,000-URL purge is one Lua call of a few tens of milliseconds).
 */
export const PRODUCER_COMMAND_TIMEOUT_MS = 5_000;

/**
 * BullMQ under native ESM takes ready-made ioredis clients. Workers block on Redis and must wait out an
 * outage (maxRetriesPerRequest: null); producers answer their caller instead of queueing commands forever.
 */
export function createRedisConnection(
  target: RedisTarget,
  role: ConnectionRole,
  onError: ConnectionErrorSink | ConnectionObserver,
  /** A producer's bound on one command (default PRODUCER_COMMAND_TIMEOUT_MS): longer for one that WAITs. */
  commandTimeoutMs = PRODUCER_COMMAND_TIMEOUT_MS,
): RedisClient {
  const options =
    role === 'worker'
      ? { maxRetriesPerRequest: null }
      : // disconnectTimeout: ioredis otherwise keeps a short-lived CLI alive 2 s after a refused connection.
        // commandTimeout: a Redis that accepts the connection and never answers fails nothing by itself;
        // without a bound the API (and the CMS calling it) would wait for ever.
        {
          maxRetriesPerRequest: 2,
          connectTimeout: 5_000,
          disconnectTimeout: 100,
          commandTimeout: commandTimeoutMs,
        };
  const seeds = target.clusterNodes ?? [];
  const tls = usesTls(seeds[0] ?? target.url) ? tlsOptions(target.tls) : undefined;
  const connection =
    seeds.length > 0
      ? new Cluster(seeds.map(clusterNode), {
          // redisOptions apply to every node, the seeds and those CLUSTER SLOTS reveals later, so TLS (and
          // the credentials) reach them all; each seed's own URL would only ever describe the seeds.
          redisOptions: { ...options, ...credentials(seeds[0] as string), ...(tls ? { tls } : {}) },
          // ioredis resolves seed names to addresses before connecting, and TLS would then check the
          // certificate against the address: keep the name the configuration gave.
          ...(tls ? { dnsLookup: keepHostname } : {}),
        })
      : // A rediss:// URL alone makes ioredis use TLS with Node's CAs; `tls` adds the configured CA.
        new Redis(target.url, { ...options, ...(tls ? { tls } : {}) });
  if (typeof onError === 'function') reportOncePerOutage(connection, onError);
  else onError.watch(connection);
  if (connection instanceof Redis) coalesceWrites(connection);
  return connection;
}

/** Node TLS options of `redis.tls`: the CA file is read once per connection, at start-up. */
export function tlsOptions(config: RedisTlsConfig | undefined): ConnectionOptions {
  const rejectUnauthorized = config?.rejectUnauthorized ?? true;
  if (config?.caFile === undefined) return { rejectUnauthorized };
  try {
    return { ca: readFileSync(config.caFile), rejectUnauthorized };
  } catch (error) {
    throw new PurgeError(
      'CONFIG_INVALID',
      `redis.tls.caFile: cannot read ${config.caFile}: ${(error as Error).message}`,
    );
  }
}

function keepHostname(hostname: string, callback: (error: null, address: string) => void): void {
  callback(null, hostname);
}

function clusterNode(url: string) {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}

/** The first seed's credentials apply to every node, including those the cluster reveals later. */
function credentials(url: string) {
  const parsed = new URL(url);
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

/** Where a config's Redis is, for logs: the URL's host, or a cluster's seeds; never a password. */
export function describeRedis(target: RedisTarget): string {
  const seeds = target.clusterNodes ?? [];
  if (seeds.length === 0) return redisHost(target.url);
  return `cluster ${seeds.map(redisHost).join(',')}`;
}

/** A Redis URL may carry a password: logs and messages get the host only. */
export function redisHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured Redis';
  }
}
