import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { PurgeStatus } from '../../src/model/status.ts';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, type ScenarioSimOptions, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

describe('purge-worker status <id>', () => {
  let simulator: Simulator;
  let configPath: string;
  let service: TestService;
  let succeeded: string;
  let failed: string;

  beforeAll(async () => {
    const sim: ScenarioSimOptions = { taskDurationMs: 50, failMarker: 'broken' };
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions(sim),
      ...QUANTIL_RIG.simulatorOptions(sim),
    });
    // Two CDNs, both routed for www.example.com: every purge has one batch per CDN.
    const input = testConfigInput(simulator.url, {}, [
      VIMS_RIG.cdnEntry(simulator.url),
      QUANTIL_RIG.cdnEntry(simulator.url),
    ]);
    configPath = await writeConfig(input);
    service = startTestService(input);
    const ok = await service.runtime.producer.enqueuePurge({ urls: ['https://www.example.com/fine.html'] });
    // One after the other: enqueued together they would share their CDN calls, and so the failure.
    await service.waitForFinish(ok.id);
    const bad = await service.runtime.producer.enqueuePurge({
      urls: ['https://www.example.com/broken.html'],
    });
    succeeded = ok.id;
    failed = bad.id;
    await Promise.all([service.waitForFinish(ok.id), service.waitForFinish(bad.id)]);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it.concurrent('exits 0 for a succeeded purge and shows one line per CDN batch', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'status', succeeded]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`purge ${succeeded}: succeeded`);
    expect(lines.slice(1).sort()).toEqual([
      expect.stringMatching(/^ {2}quantil-main-\d+ succeeded 100% \(task \S+, attempts 1, polls \d+\)$/),
      expect.stringMatching(/^ {2}vims-main-\d+ succeeded 100% \(task \d+, attempts 1, polls \d+\)$/),
    ]);
  });

  it.concurrent('exits 1 for a failed purge and shows each CDN reason', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'status', failed]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`purge ${failed}: failed\n`);
    expect(result.stdout).toMatch(/ {2}vims-main-\d+ failed .*error: FAILURE: Command failed/);
    expect(result.stdout).toMatch(/ {2}quantil-main-\d+ failed .*error: failed: /);
  });

  it.concurrent('exits 3 with a message on stderr for an unknown id', async ({ expect }) => {
    const unknown = randomUUID();
    const result = await runCli(['-c', configPath, 'status', unknown]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`purge-worker: no purge ${unknown} (unknown, or its status expired)\n`);
  });

  it.concurrent('with --json prints parseable JSON with a batch per CDN, and keeps the exit code', async ({
    expect,
  }) => {
    const result = await runCli(['-c', configPath, 'status', '--json', failed]);
    expect(result.code).toBe(1);
    const status = JSON.parse(result.stdout) as PurgeStatus;
    expect(status).toMatchObject({ id: failed, state: 'failed', request: { urls: 1, dirs: 0 } });
    expect(status.cdns.slice().sort()).toEqual(['quantil-main', 'vims-main']);
    expect(status.batches.map((batch) => [batch.cdnId, batch.batchId, batch.state]).sort()).toEqual([
      ['quantil-main', expect.stringMatching(/^quantil-main-\d+$/), 'failed'],
      ['vims-main', expect.stringMatching(/^vims-main-\d+$/), 'failed'],
    ]);
    for (const batch of status.batches) {
      expect(batch).toMatchObject({ attempts: 1, remoteId: expect.any(String), error: expect.any(String) });
    }
  });
});
