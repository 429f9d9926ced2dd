import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/**
 * Makes a connection send the commands issued in one turn of the event loop in one socket write, where
 * ioredis writes each command on its own: a write is a system call, which profiling the pipeline found to be
 * about a fifth of its busy CPU (many jobs at once get their replies, and issue their next commands, in the
 * same turn). Nothing
 * else changes: ioredis still sends every command itself, in the order issued, and reads the replies as
 * before; the socket holds the turn's writes (cork) and hands them to the kernel together when the turn's
 * queued callbacks have run (uncork on process.nextTick).
 *
 * Unlike ioredis' auto-pipelining (commands regrouped into pipelines ioredis runs one at a time, which
 * BullMQ users have reported trouble with), this is below ioredis: a command is delayed by the rest of the
 * current turn at most. A crash before the turn ends loses what a crash a moment earlier would have: the
 * pipeline's crash windows all reason about replies received, never about a command merely issued.
 *
 * Applied on every connect (a reconnect brings a new socket). BullMQ's blocking connections are duplicates it
 * makes itself, so they keep writing as ioredis does; so do a Redis Cluster's node connections (ioredis makes
 * them), which this is not applied to.
 */
export function coalesceWrites(connection: Redis): void {
  connection.on('connect', () => coalesceSocketWrites(connection.stream as Socket));
}

function coalesceSocketWrites(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const flush = () => {
    corked = false;
    socket.uncork();
  };
  const coalesced = (...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(flush);
    }
    return write(...args);
  };
  socket.write = coalesced as Socket['write'];
}
