import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { demoConfigPath } from '../../src/config/load.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli } from './cli.ts';

/** A valid config whose one CDN has the given id, so the output says which file was read. */
const configWithCdn = (id: string) =>
  testConfigInput('http://127.0.0.1:9', {}, [{ ...VIMS_RIG.cdnEntry('http://127.0.0.1:9'), id }]);

async function directoryWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-find-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** `cdns` reads only the config: its first word is the CDN id, which names the file that was used. */
const cdnIn = async (cwd: string, args: string[] = [], env: Record<string, string> = {}) => {
  const result = await runCli([...args, 'cdns'], { cwd, env });
  expect(result.code, result.stderr).toBe(0);
  return { id: result.stdout.split(' ')[0], stderr: result.stderr };
};

describe('purge-worker without -c', () => {
  it('uses ./purge-worker.json, else ./purge-worker.yaml, else ./purge-worker.yml', async () => {
    const json = JSON.stringify(configWithCdn('from-json'));
    const yaml = stringify(configWithCdn('from-yaml'));
    const yml = stringify(configWithCdn('from-yml'));
    expect(
      (await cdnIn(await directoryWith({ 'purge-worker.json': json, 'purge-worker.yaml': yaml }))).id,
    ).toBe('from-json');
    expect(
      (await cdnIn(await directoryWith({ 'purge-worker.yaml': yaml, 'purge-worker.yml': yml }))).id,
    ).toBe('from-yaml');
    expect((await cdnIn(await directoryWith({ 'purge-worker.yml': yml }))).id).toBe('from-yml');
  });

  it('takes -c, then PURGE_CONFIG, over a file in the working directory', async () => {
    const cwd = await directoryWith({ 'purge-worker.json': JSON.stringify(configWithCdn('local')) });
    const elsewhere = await directoryWith({
      'a.json': JSON.stringify(configWithCdn('named')),
      'b.yaml': stringify(configWithCdn('from-env')),
    });
    expect((await cdnIn(cwd, [], { PURGE_CONFIG: join(elsewhere, 'b.yaml') })).id).toBe('from-env');
    expect(
      (await cdnIn(cwd, ['-c', join(elsewhere, 'a.json')], { PURGE_CONFIG: join(elsewhere, 'b.yaml') })).id,
    ).toBe('named');
  });

  it('with none of them, uses the demo config as npm start does, and says so on stderr', async () => {
    const { id, stderr } = await cdnIn(await directoryWith({}));
    expect(id).toBe('vims-demo');
    expect(stderr).toBe(
      'purge-worker: no config found (looked for --config, then PURGE_CONFIG, then ./purge-worker.json, ' +
        `./purge-worker.yaml, ./purge-worker.yml): using the demo's, ${demoConfigPath()}\n`,
    );
  });
});
