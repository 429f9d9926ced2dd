import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export interface Child {
  process: ChildProcess;
  output(): string;
  /** Resolves when the child has printed `text`. */
  printed(text: string): Promise<void>;
  exited(): Promise<number | null>;
}

/** The repository's root, where `npm start` runs. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs a TypeScript entry point under this Node (type stripping), capturing its output. */
export function spawnNode(entry: string, args: string[], env: Record<string, string>): Child {
  const path = entry.startsWith('/') ? entry : fileURLToPath(new URL(`../../${entry}`, import.meta.url));
  return spawnCommand(process.execPath, [path, ...args], { env });
}

/** Runs any command (`npm start`), capturing its output; env is added to this process's own. */
export function spawnCommand(
  command: string,
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Child {
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const waiter of waiters.filter((w) => text.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = once(child, 'exit').then(([code]) => code as number | null);
  return {
    process: child,
    output: () => text,
    printed: (wanted) =>
      new Promise<void>((resolve, reject) => {
        if (text.includes(wanted)) return resolve();
        waiters.push({ text: wanted, resolve });
        exit.then((code) =>
          reject(new Error(`child exited (${code}) before printing "${wanted}":\n${text}`)),
        );
      }),
    exited: () => exit,
  };
}
