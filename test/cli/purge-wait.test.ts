import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { ESC, runCli, stateLines, writeConfig } from './cli.ts';

// Each --wait spends most of its time between reads of the record, so the runs overlap.
describe('purge-worker purge --wait, with workers running', () => {
  let simulator: Simulator;
  let configPath: string;
  let service: TestService;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50, failMarker: 'broken' }));
    const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    configPath = await writeConfig(input);
    service = startTestService(input);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it.concurrent('follows a purge to success in plain lines and exits 0', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'purge', '--wait', 'https://www.example.com/ok.html']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(ESC);
    expect(result.stdout).not.toContain('\r');

    const lines = result.stdout.trimEnd().split('\n');
    const id = /^purge (\S+) queued for vims-main$/.exec(lines[0] ?? '')?.[1] ?? '';
    expect(id, result.stdout).not.toBe('');
    // Not a TTY: a block is printed per change (never the same twice in a row), the terminal state last.
    const blocks = result.stdout.split(`purge ${id}: `).slice(1);
    for (const [index, block] of blocks.entries()) expect(block).not.toBe(blocks[index - 1]);
    expect(stateLines(result.stdout, id).at(-1)).toBe(`purge ${id}: succeeded`);
    expect(lines.at(-1)).toMatch(/^ {2}vims-main-\d+ succeeded 100% \(task \d+, attempts 1, polls \d+\)$/);
    for (const line of lines.slice(1)) {
      expect(line).toMatch(/^(purge \S+: (queued|running|succeeded)| {2}vims-main-\d+ \w+ \d+% \(.*\))$/);
    }
    expect((await service.runtime.store.get(id))?.state).toBe('succeeded');
  });

  // Alone: a purge running beside it could share its CDN call, and so its failure.
  it('exits 1 and ends on the failed state with the CDN reason when the CDN reports failure', async ({
    expect,
  }) => {
    const result = await runCli(['-c', configPath, 'purge', '--wait', 'https://www.example.com/broken.html']);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain(ESC);
    const lines = result.stdout.trimEnd().split('\n');
    const id = /^purge (\S+) queued for vims-main$/.exec(lines[0] ?? '')?.[1] ?? '';
    expect(stateLines(result.stdout, id).at(-1)).toBe(`purge ${id}: failed`);
    expect(lines.at(-1)).toMatch(
      /^ {2}vims-main-\d+ failed \d+% \(task \d+, .*error: FAILURE: Command failed/,
    );
    expect((await service.runtime.store.get(id))?.state).toBe('failed');
  });

  it.concurrent('with --json prints only the final status as parseable JSON', async ({ expect }) => {
    const result = await runCli([
      '-c',
      configPath,
      'purge',
      '--wait',
      '--json',
      'https://www.example.com/json.html',
    ]);
    expect(result.code).toBe(0);
    const status = JSON.parse(result.stdout) as { id: string; state: string; batches: unknown[] };
    expect(status).toMatchObject({
      state: 'succeeded',
      cdns: ['vims-main'],
      batches: [expect.objectContaining({ cdnId: 'vims-main', state: 'succeeded' })],
    });
    expect(status).not.toHaveProperty('callbackUrl');
    expect((await service.runtime.store.get(status.id))?.state).toBe('succeeded');
  });

  it.concurrent('status --wait follows a purge enqueued elsewhere to its end', async ({ expect }) => {
    const { id } = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/later.html'],
    });
    const result = await runCli(['-c', configPath, 'status', '--wait', id]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain(ESC);
    expect(stateLines(result.stdout, id).at(-1)).toBe(`purge ${id}: succeeded`);
  });
});
