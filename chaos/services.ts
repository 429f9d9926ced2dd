import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '../src/node-flags.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
/** What a process logs once it serves (its API or metrics server listening, its workers started). */
const STARTED = '"msg":"purge-worker started"';

export interface ServiceProcess {
  readonly name: string;
  running(): boolean;
  /** Starts the process and resolves once it logged that it started (bounded). */
  start(): Promise<void>;
  /** SIGKILL: no shutdown hook runs, in-flight jobs keep their locks until they lapse. */
  kill(): Promise<void>;
  /** SIGTERM and wait: the graceful stop, at the end of a run. */
  stop(): Promise<void>;
}

/**
 * One `src/main.ts --role <role>` process on the rig's config file, as a deployment runs it (the service's
 * Node flags included); everything it prints goes to `logPath`, across restarts.
 */
export function serviceProcess(name: string, role: 'api' | 'worker', configPath: string, log: WriteStream) {
  let child: ChildProcess | undefined;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const process_: ServiceProcess = {
    name,
    running: alive,
    async start() {
      const started = spawn(
        process.execPath,
        [...SERVICE_NODE_FLAGS, MAIN, '--config', configPath, '--role', role],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } },
      );
      child = started;
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name} did not start within 30 s:\n${seen}`)),
          30_000,
        );
        const onData = (chunk: Buffer) => {
          log.write(chunk);
          if (seen.length < 64 * 1024) seen += chunk.toString();
          if (seen.includes(STARTED)) {
            clearTimeout(timer);
            resolve();
          }
        };
        started.stdout?.on('data', onData);
        started.stderr?.on('data', (chunk: Buffer) => {
          log.write(chunk);
          if (seen.length < 64 * 1024) seen += chunk.toString();
        });
        started.once('exit', (code, signal) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${code ?? signal}) before it started:\n${seen}`));
        });
      });
      // From here on its output only goes to the log.
      started.stdout?.removeAllListeners('data');
      started.stdout?.on('data', (chunk: Buffer) => log.write(chunk));
    },
    async kill() {
      if (!child || !alive()) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!child || !alive()) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return process_;
}

/** The log every process of a phase writes to. */
export function phaseLog(path: string): WriteStream {
  return createWriteStream(path, { flags: 'a' });
}
