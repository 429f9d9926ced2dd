import { Redis } from 'ioredis';

export type ConnectionRole = 'worker' | 'producer';

/** Where a connection reports that Redis went away (ioredis keeps reconnecting on its own). */
export type ConnectionErrorSink = (error: Error) => void;

// While Redis is down ioredis reports every reconnect attempt; one line per streak is enough for a log.
function reportOncePerOutage(connection: Redis, onError: ConnectionErrorSink): void {
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
  url: string,
  role: ConnectionRole,
  onError: ConnectionErrorSink,
): Redis {
  const connection =
    role === 'worker'
      ? new Redis(url, { maxRetriesPerRequest: null })
      : // disconnectTimeout: ioredis otherwise keeps a short-lived CLI alive 2 s after a refused connection.
        new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5_000, disconnectTimeout: 100 });
  reportOncePerOutage(connection, onError);
  return connection;
}
