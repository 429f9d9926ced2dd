import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server of the demo's own: loopback only, nothing persisted, gone when the process ends. */
export interface PrivateRedis {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const READY_WITHIN_MS = 5_000;

/**
 * Starts `redis-server` from PATH on a free loopback port, with persistence off and a scratch directory;
 * undefined when there is no redis-server to run. It is killed when this process exits or hangs up, and,
 * by its watchdog, when this process is SIGKILLed.
 */
export async function startPrivateRedis(): Promise<PrivateRedis | undefined> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'purge-worker-demo-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, dir);
  // A server that ended on its own disarms it: its pid may be given to another process later.
  child.once('exit', () => watchdog?.kill('SIGKILL'));
  const killOnExit = () => {
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
    removeDir();
  };
  process.once('exit', killOnExit);
  // A closed terminal ends the process by SIGHUP, which runs no 'exit' listener: the Redis goes first, then
  // the signal, with no listener left, takes its default course.
  const onHangup = () => {
    killOnExit();
    process.kill(process.pid, 'SIGHUP');
  };
  process.once('SIGHUP', onHangup);
  const forget = () => {
    process.off('exit', killOnExit);
    process.off('SIGHUP', onHangup);
  };
  const failed = new Promise<'missing' | 'exited'>((resolve) => {
    child.once('error', () => resolve('missing'));
    child.once('exit', () => resolve('exited'));
  });
  const url = `redis://127.0.0.1:${port}`;
  const ready = answers(url, READY_WITHIN_MS).then(
    () => 'ready' as const,
    () => 'silent' as const,
  );
  const outcome = await Promise.race([ready, failed]);
  if (outcome !== 'ready') {
    forget();
    watchdog?.kill('SIGKILL');
    child.kill('SIGKILL');
    removeDir();
    if (outcome === 'missing') return undefined;
    const what = outcome === 'exited' ? 'exited at once' : `did not answer within ${READY_WITHIN_MS} ms`;
    throw new Error(`the demo's redis-server on 127.0.0.1:${port} ${what}`);
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: child.pid as number,
    stop() {
      stopping ??= (async () => {
        forget();
        // The watchdog first: it must not outlive the server and signal a pid the system may hand out again.
        watchdog?.kill('SIGKILL');
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        removeDir();
      })();
      return stopping;
    },
  };
}

/**
 * A process that kills the server (and removes its directory) when this one dies in a way no listener of
 * ours sees: a SIGKILL. It waits on a pipe that only this process holds open; the system closes it when
 * this process ends however it ends, and `cat` returns at that end of input. No polling, nothing to keep
 * this process's event loop alive.
 */
function startWatchdog(serverPid: number, dir: string): ChildProcess {
  // The pid and the directory as arguments ($1, $2), never spliced into the script's text.
  const script = 'cat >/dev/null; kill -KILL "$1" 2>/dev/null; rm -rf "$2"';
  const watchdog = spawn('sh', ['-c', script, 'purge-worker-demo-watchdog', String(serverPid), dir], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  watchdog.on('error', () => {});
  return watchdog;
}

/** Whether a Redis at `url` answers PING within `ms`; never retries, never throws. */
export async function redisAnswers(url: string, ms = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: ms,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Resolves once a Redis answers at `url`, polling while the server starts; rejects after `ms`. */
async function answers(url: string, ms: number): Promise<void> {
  const giveUpAt = Date.now() + ms;
  while (!(await redisAnswers(url, 500))) {
    if (Date.now() > giveUpAt) throw new Error(`no answer within ${ms} ms`);
    // Nothing to wait on: the server opens its port when it is ready.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
