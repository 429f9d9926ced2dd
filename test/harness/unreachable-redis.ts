import { createServer } from 'node:net';
import { Redis } from 'ioredis';

/** A port on loopback with nothing listening. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A client whose every command fails at once: a Redis that is down, for the queues of a producer under test. */
export async function unreachableRedis(): Promise<Redis> {
  return new Redis({
    host: '127.0.0.1',
    port: await closedPort(),
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
}
