// Runs the real `purge-worker` binary as a child process, the way a shell script would: stdout and stderr
// apart, no TTY, and the exit code as the answer.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

export const BIN = fileURLToPath(new URL('../../bin/purge-worker.js', import.meta.url));

const COMPILE_CACHE = join(tmpdir(), 'purge-worker-cli-test-compile-cache');

export interface CliResult {
  code: number | null;
  /** Set only when the guard below had to kill a child that did not exit on its own. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** A child still running after this long is killed, so a hang fails its test instead of the whole run. */
  killAfterMs?: number;
}

export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  // PURGE_CONFIG from the developer's shell must not decide which config a test uses, nor colour settings
  // how a pipe is written to.
  const { PURGE_CONFIG: _config, FORCE_COLOR: _force, NO_COLOR: _no, ...inherited } = process.env;
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    // The compile cache only spares each child recompiling the same sources (about a third of its start-up).
    env: { ...inherited, NODE_COMPILE_CACHE: COMPILE_CACHE, ...options.env },
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Writes a config (usually from testConfigInput) to a fresh temp dir; returns its path. */
export async function writeConfig(input: unknown, name = 'config.json'): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'pw-cli-')), name);
  await writeFile(path, typeof input === 'string' ? input : JSON.stringify(input, null, 2));
  return path;
}

/** Purge records under a prefix, as `KEYS <prefix>:purge:*` sees them. */
export async function purgeKeys(redis: Redis, prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}:purge:*`)).sort();
}

/** Lines of `purge <id>: <state>` in the order they were printed. */
export function stateLines(stdout: string, id: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith(`purge ${id}: `));
}

export const ESC = '\u001b';
