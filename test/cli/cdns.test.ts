import { afterAll, beforeAll, describe, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { QUANTIL_RIG, type ScenarioSimOptions, VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

describe('purge-worker cdns', () => {
  let simulator: Simulator;
  let goodConfig: string;
  let wrongConfig: string;

  beforeAll(async () => {
    const sim: ScenarioSimOptions = { taskDurationMs: 50 };
    simulator = await startSimulator({
      ...VIMS_RIG.simulatorOptions(sim),
      ...QUANTIL_RIG.simulatorOptions(sim),
    });
    const cdns = (credentialsOk: boolean) => [
      VIMS_RIG.cdnEntry(simulator.url, credentialsOk),
      QUANTIL_RIG.cdnEntry(simulator.url, credentialsOk),
    ];
    goodConfig = await writeConfig(testConfigInput(simulator.url, {}, cdns(true)));
    wrongConfig = await writeConfig(testConfigInput(simulator.url, {}, cdns(false)));
  });
  afterAll(async () => {
    await simulator.close();
  });

  it.concurrent('lists every configured CDN with its provider, base URL and purge kinds', async ({
    expect,
  }) => {
    // The wrong credentials show that listing calls no CDN.
    const result = await runCli(['-c', wrongConfig, 'cdns']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      `vims-main (vims) ${simulator.url} [urls, dirs, pattern, all]`,
      expect.stringMatching(
        /^quantil-main \(quantil\) \S+ \[(urls|dirs|pattern|all)(, (urls|dirs|pattern|all))*\]$/,
      ),
    ]);
  });

  it.concurrent('with --json prints the same list as parseable JSON', async ({ expect }) => {
    const result = await runCli(['-c', goodConfig, 'cdns', '--json']);
    expect(result.code).toBe(0);
    const rows = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(rows).toEqual([
      {
        id: 'vims-main',
        provider: 'vims',
        baseUrl: simulator.url,
        kinds: ['urls', 'dirs', 'pattern', 'all'],
      },
      { id: 'quantil-main', provider: 'quantil', baseUrl: simulator.url, kinds: expect.any(Array) },
    ]);
  });

  it.concurrent('with --check exits 0 when every CDN accepts its credentials', async ({ expect }) => {
    const result = await runCli(['-c', goodConfig, 'cdns', '--check']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^vims-main \(vims\) .* OK: service 101 /);
    expect(lines[1]).toMatch(/^quantil-main \(quantil\) .* OK: credentials accepted$/);
  });

  it.concurrent('with --check exits 1 and says why when the credentials are wrong', async ({ expect }) => {
    const result = await runCli(['-c', wrongConfig, 'cdns', '--check']);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^vims-main \(vims\) .* FAILED: VIMS services: HTTP 401 — invalid token$/);
    expect(lines[1]).toMatch(
      /^quantil-main \(quantil\) .* FAILED: credentials refused for user e2e: HTTP 40[13]/,
    );
    // The reason is told, the credential is not.
    expect(result.stdout + result.stderr).not.toMatch(/sk_live_wrong|wrong-key/);
  });
});
