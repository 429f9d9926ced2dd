import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

describe('purge-worker purge --wait --timeout, with no worker running', () => {
  let simulator: Simulator;
  let configPath: string;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    configPath = await writeConfig(testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]));
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('gives up after the timeout with exit 5, saying the purge is still queued', async () => {
    const result = await runCli([
      '-c',
      configPath,
      'purge',
      'https://www.example.com/t.html',
      '--wait',
      '--timeout',
      '1',
    ]);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(
      /gave up waiting after 1 s: purge [0-9a-f-]{36} is still queued \(are workers running\?\)/,
    );
  });

  it('refuses a timeout that is not a positive number with exit 2', async () => {
    const result = await runCli(['-c', configPath, 'status', 'x', '--wait', '--timeout', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--timeout must be a positive number of seconds, not "soon"');
  });
});
