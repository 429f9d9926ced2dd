import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import type { ListPage } from '../../src/status/list.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

describe('purge-worker list', () => {
  let simulator: Simulator;
  let configPath: string;
  let service: TestService;
  let failed: string;
  let succeeded: string;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 20, failMarker: 'broken' }));
    const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    configPath = await writeConfig(input);
    service = startTestService(input);
    const { producer } = service.runtime;
    failed = (await producer.enqueuePurge({ urls: ['https://www.example.com/broken.html'] })).id;
    // One after the other: accepted together they would share one CDN call, and its failure.
    await service.waitForFinish(failed);
    succeeded = (await producer.enqueuePurge({ urls: ['https://www.example.com/fine.html'] })).id;
    await service.waitForFinish(succeeded);
  });
  afterAll(async () => {
    await service.close();
    await simulator.close();
  });

  it.concurrent('prints a table of purges, newest first, with a header row', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'list']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATE +ACCEPTED \(UTC\) +CDNS +TARGETS +ENDED WITH +FIRST TARGET$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${succeeded} +succeeded +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +vims-main +1/1 ok +- +https://www\\.example\\.com/fine\\.html$`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^${failed} +failed .* 0/1 ok \\(1 failed\\) +CDN_TASK_FAILED +https://www\\.example\\.com/broken\\.html$`,
      ),
    );
    expect(lines).toHaveLength(3);
  });

  it.concurrent('with --state failed --since 1h --json prints only the failed purge as JSON', async ({
    expect,
  }) => {
    const result = await runCli(['-c', configPath, 'list', '--state', 'failed', '--since', '1h', '--json']);
    expect(result.code).toBe(0);
    const page = JSON.parse(result.stdout) as ListPage;
    expect(page.purges.map((purge) => [purge.id, purge.state])).toEqual([[failed, 'failed']]);
    expect(page.nextCursor).toBeUndefined();
  });

  it.concurrent('stops at --limit and says how to go on', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'list', '--limit', '1', '--json']);
    const page = JSON.parse(result.stdout) as ListPage;
    expect(page.purges.map((purge) => purge.id)).toEqual([succeeded]);
    const rest = await runCli(['-c', configPath, 'list', '--json', '--cursor', page.nextCursor as string]);
    expect((JSON.parse(rest.stdout) as ListPage).purges.map((purge) => purge.id)).toEqual([failed]);
  });

  it.concurrent('finds a purge by text in its URL', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'list', '--url', 'fine.html', '--json']);
    expect((JSON.parse(result.stdout) as ListPage).purges.map((purge) => purge.id)).toEqual([succeeded]);
  });

  it.concurrent.for([
    [['--since', 'yesterday'], /^purge-worker: since: "yesterday" is not an ISO 8601 date/],
    [['--state', 'lost'], /^purge-worker: state: "lost" is not one of queued, running/],
    [['--cdn', 'akamai'], /^purge-worker: cdn: "akamai" is not one of vims-main\n$/],
    [['--limit', '0'], /^purge-worker: limit: must be a whole number from 1 to 200\n$/],
  ] as const)('exits 2 naming the bad option for %j', async ([args, message], { expect }) => {
    const result = await runCli(['-c', configPath, 'list', ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});
