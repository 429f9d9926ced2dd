import { Cluster, Redis } from 'ioredis';

export type ConnectionRole = 'worker' | 'producer';

/** A standalone Redis or a Redis Cluster: BullMQ and our scripts work the same on both (one hash slot). */
export type RedisClient = Redis | Cluster;

/** Where a connection reports that Redis went away (ioredis keeps reconnecting on its own). */
export type ConnectionErrorSink = (error: Error) => void;

export interface RedisTarget {
  url: string;
  /** Seed nodes of a Redis Cluster (`redis://host:port`); when given, `url` is not used. */
  clusterNodes?: readonly string[] | undefined;
}

// While Redis is down ioredis reports every reconnect attempt; one line per streak is enough for a log.
function reportOncePerOutage(connection: RedisClient, onError: ConnectionErrorSink): void {
  let reported = false;
  connection.on('error', (error: Error) => {
    if (!reported) onError(error);
    reported = true;
  });
  connection.on('ready', () => {
    reported = false;
  });
}

/**
 * BullMQ under native ESM takes ready-made ioredis clients. Workers block on Redis and must wait out an
 * outage (maxRetriesPerRequest: null); producers answer their caller instead of queueing commands forever.
 */
export function createRedisConnection(
  target: RedisTarget,
  role: ConnectionRole,
  onError: ConnectionErrorSink,
): RedisClient {
  const options =
    role === 'worker'
      ? { maxRetriesPerRequest: null }
      : // disconnectTimeout: ioredis otherwise keeps a short-lived CLI alive 2 s after a refused connection.
        { maxRetriesPerRequest: 2, connectTimeout: 5_000, disconnectTimeout: 100 };
  const connection = target.clusterNodes?.length
    ? new Cluster(target.clusterNodes.map(clusterNode), {
        redisOptions: { ...options, ...credentials(target.clusterNodes[0] as string) },
      })
    : new Redis(target.url, options);
  reportOncePerOutage(connection, onError);
  return connection;
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

/** A Redis URL may carry a password: logs and messages get the host only. */
export function redisHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the configured Redis';
  }
}
