import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { BIN, writeConfig } from './cli.ts';

const run = promisify(execFile);
// util-linux `script` gives the child a real pseudo-terminal, as a person's shell would.
const hasScript = await run('script', ['--version']).then(
  () => true,
  () => false,
);
if (!hasScript) process.stderr.write('terminal display test skipped: util-linux `script` is not installed\n');

describe.skipIf(!hasScript)('purge-worker status --wait in a terminal', () => {
  let simulator: Simulator;
  let service: TestService;
  let configPath: string;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 1_500 }));
    const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    configPath = await writeConfig(input);
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('draws a progress bar per CDN, redrawn in place, and exits 0 on success', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/tty.html'],
    });
    const command = [process.execPath, BIN, '-c', configPath, 'status', id, '--wait'].map(quote).join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { timeout: 20_000 });
    expect(stdout).toMatch(/vims-main-0\s+█+\s+100% succeeded/);
    expect(stdout).toContain('░'); // an unfinished bar was drawn before the final one
    expect(stdout).toContain('\u001b[J'); // earlier frames were cleared, not scrolled
    expect(stdout).toContain(`purge ${id}: succeeded`);
  });
});

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
