import { setTimeout as delay } from 'node:timers/promises';
import { isPurgeFinished, type PurgeStatus, publicStatus } from '../model/status.ts';
import type { StatusStore } from '../status/store.ts';
import { CliExit, EXIT } from './exit-codes.ts';
import { renderStatus } from './render.ts';

export interface FollowOptions {
  wait: boolean;
  json: boolean;
  out: NodeJS.WriteStream;
  intervalMs?: number;
  /** With --wait: give up after this long (the purge goes on; no worker running is the usual cause). */
  timeoutMs?: number;
}

/**
 * Shows a purge's status, and with --wait keeps showing it until it ends: redrawn in place in a TTY,
 * one line per change otherwise. The exit code is the purge's outcome.
 */
export async function followPurge(store: StatusStore, id: string, options: FollowOptions): Promise<number> {
  const tty = options.out.isTTY === true && !options.json;
  let drawn = 0;
  let last = '';
  const giveUpAt =
    options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  for (;;) {
    const status = await store.get(id);
    if (!status) throw new CliExit(EXIT.NOT_FOUND, `no purge ${id} (unknown, or its status expired)`);
    const finished = isPurgeFinished(status.state);
    if (!options.json) {
      const lines = renderStatus(status, tty);
      const text = lines.join('\n');
      if (tty) {
        if (drawn > 0) options.out.write(`\x1b[${drawn}A\x1b[J`);
        options.out.write(`${text}\n`);
        drawn = lines.length;
      } else if (text !== last) {
        options.out.write(`${text}\n`);
      }
      last = text;
    }
    if (finished || !options.wait) {
      if (options.json) options.out.write(`${JSON.stringify(publicStatus(status), null, 2)}\n`);
      return exitCodeFor(status);
    }
    if (Date.now() >= giveUpAt) {
      throw new CliExit(
        EXIT.WAIT_TIMEOUT,
        `gave up waiting after ${Math.round((options.timeoutMs ?? 0) / 1000)} s: purge ${id} is still ${status.state} (are workers running?)`,
      );
    }
    // A person watching a purge: half a second between reads of one Redis hash is plenty.
    await delay(options.intervalMs ?? 500);
  }
}

/** `--timeout <seconds>`: a positive number, as milliseconds. */
export function parseTimeout(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new CliExit(EXIT.USAGE, `--timeout must be a positive number of seconds, not "${value}"`);
  return Math.round(seconds * 1000);
}

export function exitCodeFor(status: PurgeStatus): number {
  return status.state === 'failed' || status.state === 'timed_out' ? EXIT.PURGE_FAILED : EXIT.OK;
}
