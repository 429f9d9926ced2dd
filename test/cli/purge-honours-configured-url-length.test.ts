import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

const urlOfLength = (length: number) => {
  const prefix = 'https://www.example.com/';
  return `${prefix}${'a'.repeat(length - prefix.length)}`;
};

/** The CLI's early usage check must not hold URLs to the default limit when the config raised it. */
describe('purge-worker purge with a raised api.maxUrlLength', () => {
  let simulator: Simulator;
  let configPath: string;
  // No workers: the purge stays as the CLI enqueued it.
  let observer: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    const input = testConfigInput(simulator.url, { api: { maxUrlLength: 4096 } }, [
      VIMS_RIG.cdnEntry(simulator.url),
    ]);
    configPath = await writeConfig(input);
    observer = startTestService(input, { workers: false });
  });
  afterAll(async () => {
    await observer.close();
    await simulator.close();
  });

  it('enqueues a 3000-character URL when api.maxUrlLength is 4096', async () => {
    const url = urlOfLength(3000);
    const result = await runCli(['-c', configPath, 'purge', '--json', url]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { id } = JSON.parse(result.stdout) as { id: string };
    expect(await observer.runtime.store.get(id)).toMatchObject({ id, state: 'queued', request: { urls: 1 } });
  });

  it('still refuses a URL over the configured 4096 characters, naming the limit', async () => {
    const result = await runCli(['-c', configPath, 'purge', urlOfLength(5000)]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('urls[0]: is longer than 4096 characters');
  });
});
