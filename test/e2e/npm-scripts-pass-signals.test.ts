import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeConfig } from '../cli/cli.ts';
import { type Child, REPO_ROOT, spawnCommand } from '../harness/child.ts';
import { commandLine, descendantsOf, isRunning } from '../harness/process-tree.ts';
import { testConfigInput } from '../harness/service.ts';

// npm runs a script as `sh -c '<script>'` and forwards SIGTERM to that shell only: without `exec` in the
// script the shell dies and node, its child, is left running (and taking jobs) under init.
const started: Array<{ npm: Child; below: number[] }> = [];
afterEach(() => {
  // A failed test must not leave its service running: the processes it found below npm go too.
  for (const { npm, below } of started.splice(0)) {
    npm.process.kill('SIGKILL');
    for (const pid of below.filter(isRunning)) process.kill(pid, 'SIGKILL');
  }
});

/** `npm run <script>` in the repository, with npm's own noise off; resolves once it printed `ready`. */
async function npmRun(script: string, env: Record<string, string>, ready: string) {
  const npm = spawnCommand('npm', ['run', '--silent', script], {
    cwd: REPO_ROOT,
    env: { ...env, npm_config_update_notifier: 'false' },
  });
  const run = { npm, below: [] as number[] };
  started.push(run);
  await npm.printed(ready);
  run.below = descendantsOf(npm.process.pid as number);
  return run;
}

describe('npm scripts hand signals on', () => {
  it('npm start: SIGTERM to npm stops the service gracefully, and no process of it is left', async () => {
    // No CDN needs to answer: the service only has to start and stop.
    const configPath = await writeConfig(testConfigInput('http://127.0.0.1:9', { log: { level: 'info' } }));
    const { npm, below } = await npmRun('start', { PURGE_CONFIG: configPath }, 'purge-worker started');
    const service = below.find((p) => commandLine(p).includes('src/main.ts'));
    expect(service, `a node running src/main.ts below npm (${below.map(commandLine)})`).toBeDefined();

    npm.process.kill('SIGTERM');
    expect(await npm.exited()).toBe(0);
    expect(npm.output()).toContain('"msg":"stopped"');
    expect(below.filter(isRunning).map(commandLine)).toEqual([]);
  });

  it('npm run simulator: SIGTERM to npm stops the simulator, and no process of it is left', async () => {
    const { npm, below } = await npmRun('simulator', { SIM_PORT: '0' }, 'simulator listening');
    expect(below.some((p) => commandLine(p).includes('src/simulator/main.ts'))).toBe(true);

    npm.process.kill('SIGTERM');
    expect(await npm.exited()).toBe(0);
    expect(npm.output()).toContain('simulator stopped');
    // The simulator exits once its servers have closed; npm, which waited for it, has reaped it.
    await vi.waitFor(() => expect(below.filter(isRunning)).toEqual([]));
  });
});
