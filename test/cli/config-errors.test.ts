import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { runCli, writeConfig } from './cli.ts';

// No simulator or Redis is needed: a command must refuse a bad config before it talks to anything.
const input = () => testConfigInput('http://127.0.0.1:9', {}, [VIMS_RIG.cdnEntry('http://127.0.0.1:9')]);

describe('purge-worker with a bad config', () => {
  it.concurrent('exits 2 naming every invalid field and the file when the config is invalid', async ({
    expect,
  }) => {
    const good = input();
    const path = await writeConfig({
      ...good,
      cdns: [{ ...VIMS_RIG.cdnEntry('http://127.0.0.1:9'), token: '' }],
      routes: [{ hosts: ['www.example.com'], cdns: ['ghost'] }],
    });
    const result = await runCli(['-c', path, 'purge', 'https://www.example.com/a.html']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`purge-worker: ${path} is invalid:`);
    expect(result.stderr).toContain('cdns[0].token: token is required');
    expect(result.stderr).toMatch(/routes\[0\]\.cdns.*unknown CDN id "ghost"/);
  });

  it.concurrent('exits 2 naming the path when the --config file does not exist', async ({ expect }) => {
    const path = join(await mkdtemp(join(tmpdir(), 'pw-cli-')), 'absent.json');
    const result = await runCli(['--config', path, 'cdns']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`cannot read config file ${path}`);
    expect(result.stderr).toContain('ENOENT');
  });

  it.concurrent('reads PURGE_CONFIG when no --config is given, and names that path when it is missing', async ({
    expect,
  }) => {
    const path = join(await mkdtemp(join(tmpdir(), 'pw-cli-')), 'from-env.json');
    const result = await runCli(['cdns'], { env: { PURGE_CONFIG: path } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read config file ${path}`);
  });
});
