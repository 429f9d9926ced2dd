import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { startTestService, type TestService, testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

const LINE = /^purge (\S+) replays (\S+), queued for vims-main( \(repeat of an earlier replay\))?$/;

describe('purge-worker replay', () => {
  let simulator: Simulator;
  let configPath: string;
  let service: TestService;
  let failed: string;
  let succeeded: string;
  let firstReplay: string;

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

  it('replays a failed purge as a new purge naming it, and answers a second time with the same one', async () => {
    const first = await runCli(['-c', configPath, 'replay', failed]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const [, id, origin, repeat] = LINE.exec(first.stdout.trimEnd()) ?? [];
    expect(origin).toBe(failed);
    expect(repeat).toBeUndefined();
    firstReplay = id as string;
    expect(await service.runtime.store.get(firstReplay)).toMatchObject({ replayOf: failed });

    const again = await runCli(['-c', configPath, 'replay', failed]);
    expect(again.code).toBe(0);
    expect(again.stdout.trimEnd()).toBe(
      `purge ${firstReplay} replays ${failed}, queued for vims-main (repeat of an earlier replay)`,
    );
  });

  it('with --failed-since replays every purge that failed since then, one JSON line each with --json', async () => {
    // The first replay fails too (the same broken URL): it is one of the failed purges now.
    expect((await service.waitForFinish(firstReplay)).state).toBe('failed');
    const result = await runCli(['-c', configPath, 'replay', '--failed-since', '1h', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; replayOf: string; duplicate: boolean });
    // Newest first: the failed replay gets a replay of its own; the origin maps to its first replay.
    expect(lines).toEqual([
      { id: expect.any(String), cdns: ['vims-main'], duplicate: false, replayOf: firstReplay },
      { id: firstReplay, cdns: ['vims-main'], duplicate: true, replayOf: failed },
    ]);
  });

  it.concurrent('exits 2 for a purge with nothing to replay, 3 for an unknown one, and goes on past either', async ({
    expect,
  }) => {
    const unknown = randomUUID();
    const nothing = await runCli(['-c', configPath, 'replay', succeeded]);
    expect(nothing.code).toBe(2);
    expect(nothing.stdout).toBe('');
    expect(nothing.stderr).toBe(
      `purge-worker: purge ${succeeded} has nothing to replay: it ended succeeded (replay it with all to send all of it again)\n`,
    );
    const mixed = await runCli(['-c', configPath, 'replay', unknown, failed]);
    expect(mixed.code).toBe(3);
    expect(mixed.stderr).toBe(`purge-worker: no purge ${unknown} (unknown, or its status expired)\n`);
    expect(mixed.stdout.trimEnd()).toMatch(LINE);
  });

  it.concurrent('with --all replays a purge that succeeded, all of it', async ({ expect }) => {
    const result = await runCli(['-c', configPath, 'replay', '--all', succeeded, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      replayOf: succeeded,
      duplicate: false,
      cdns: ['vims-main'],
    });
  });

  it.concurrent.for([
    [[], /^purge-worker: name the purges to replay, or --failed-since, not both\n$/],
    [
      ['some-id', '--failed-since', '1h'],
      /^purge-worker: name the purges to replay, or --failed-since, not both\n$/,
    ],
    [['--failed-since', 'yesterday'], /^purge-worker: since: "yesterday" is not an ISO 8601 date/],
  ] as const)('exits 2 on bad usage: %j', async ([args, message], { expect }) => {
    const result = await runCli(['-c', configPath, 'replay', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
