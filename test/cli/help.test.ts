import { describe, expect, it } from 'vitest';
import { runCli } from './cli.ts';

describe('purge-worker --help', () => {
  it('exits 0 and lists the commands and the exit codes', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['start', 'purge', 'status', 'cdns', 'list', 'replay', 'init', 'config']) {
      expect(result.stdout).toMatch(new RegExp(`^ {2}${command} `, 'm'));
    }
    expect(result.stdout).toContain('-c, --config <path>');
    expect(result.stdout).toContain('-V, --version');
    const exitCodes = result.stdout.slice(result.stdout.indexOf('Exit codes:')).replace(/\s+/g, ' ');
    expect(exitCodes).toContain('0 ok/succeeded');
    expect(exitCodes).toContain('1 purge failed or timed out (or a CDN check failed)');
    expect(exitCodes).toContain('2 usage or config error');
    expect(exitCodes).toContain('3 purge not found');
    expect(exitCodes).toContain('4 Redis unreachable');
  });
});
