import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createRedisConnection } from '../../src/queue/connection.ts';
import { uniquePrefix } from '../harness/prefix.ts';

/** What reaches the socket's own writers: one call per system call the socket makes. */
function watchWrites(connection: Redis) {
  const socket = connection.stream as Socket & {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const single = vi.spyOn(socket, '_write');
  const several = vi.spyOn(socket, '_writev');
  return {
    /** Chunks handed over per write, in order. */
    writes: () =>
      [
        ...single.mock.invocationCallOrder.map((order) => ({ order, chunks: 1 })),
        ...several.mock.invocationCallOrder.map((order, index) => ({
          order,
          chunks: (several.mock.calls[index]?.[0] as unknown[] | undefined)?.length ?? 0,
        })),
      ]
        .sort((a, b) => a.order - b.order)
        .map((write) => write.chunks),
  };
}

describe('a connection of ours', () => {
  const connections: Redis[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) await connection.quit();
  });
  const connect = async () => {
    const connection = createRedisConnection({ url: inject('redisUrl') }, 'worker', () => {});
    connections.push(connection as Redis);
    await connection.ping();
    return connection as Redis;
  };

  it('sends the commands issued in one turn in one write, in order, each answered as its own', async () => {
    const connection = await connect();
    const key = `${uniquePrefix('coalesce')}:n`;
    const watch = watchWrites(connection);
    const replies = await Promise.all([
      connection.set(key, '1'),
      connection.incr(key),
      connection.get(key),
      connection.del(key),
    ]);
    expect(replies).toEqual(['OK', 2, '2', 1]);
    expect(watch.writes()).toEqual([4]);
    // A later turn's command is not held back for company.
    expect(await connection.ping()).toBe('PONG');
    expect(watch.writes()).toEqual([4, 1]);
  });

  it('keeps doing so on the new socket a reconnect brings', async () => {
    const connection = await connect();
    const first = connection.stream;
    connection.disconnect(true);
    await vi.waitFor(
      () => {
        expect(connection.stream).not.toBe(first);
        expect(connection.status).toBe('ready');
      },
      { timeout: 5_000, interval: 10 },
    );
    const watch = watchWrites(connection);
    expect(await Promise.all([connection.ping(), connection.ping('again')])).toEqual(['PONG', 'again']);
    expect(watch.writes()).toEqual([2]);
  });
});
