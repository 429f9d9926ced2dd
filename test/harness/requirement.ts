import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Whether this run is CI's (CI=true, as CI services and `.ci/run` set it; 1 counts too). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return /^(true|1)$/i.test(env.CI ?? '');
}

/**
 * For a test that needs a tool this machine may lack (Chromium, redis-server, a pseudo-terminal): says so on
 * stderr and lets the test be skipped on a developer's machine, but throws under CI, where every tool is
 * installed (`.ci/run`) and a skip would hide that the test never ran.
 */
export function requireTool(
  available: boolean,
  test: string,
  missing: string,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (available) return true;
  if (inCi(env)) throw new Error(`${test} cannot run under CI=true: ${missing}`);
  process.stderr.write(`${test} skipped: ${missing}\n`);
  return false;
}

/** Whether `command` is an executable file in one of PATH's directories, as a shell would find it. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
