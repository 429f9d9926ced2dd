import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { requireTool } from '../harness/requirement.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { BIN, writeConfig } from './cli.ts';

// util-linux `script` gives the child a real pseudo-terminal, as a person's shell would.
const hasScript = requireTool(
  await promisify(execFile)('script', ['--version']).then(
    () => true,
    () => false,
  ),
  'terminal display test',
  'util-linux `script` is not installed',
);

describe.skipIf(!hasScript)('purge-worker status --wait in a terminal', () => {
  let simulator: Simulator;
  let service: TestService;
  let configPath: string;

  beforeAll(async () => {
    // Tasks run until the test lets them finish, so a running frame is drawn however slow the start.
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 600_000 }));
    const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    configPath = await writeConfig(input);
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it('draws a progress bar per CDN, redraws it in place, and exits 0 on success', async () => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/tty.html'],
    });
    const command = [process.execPath, BIN, '-c', configPath, 'status', id, '--wait'].map(quote).join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      screen += chunk.toString();
    });
    const exited = once(child, 'exit');
    try {
      await vi.waitFor(
        () => {
          if (!/vims-main-\d+\s+░/.test(screen) && !/vims-main-\d+\s+█+░/.test(screen))
            throw new Error('no bar yet');
        },
        { timeout: 15_000, interval: 20 },
      );
      simulator.vims.setTaskDuration(0);
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      child.kill();
    }
    expect(screen).toMatch(/vims-main-\d+\s+█+\s+100% succeeded/);
    expect(screen).toContain('\u001b[J'); // earlier frames were cleared, not scrolled
    expect(screen).toContain(`purge ${id}: succeeded`);
  });
});

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
