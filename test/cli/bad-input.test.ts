import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/server.ts';
import { VIMS_RIG } from '../harness/cdn-rigs.ts';
import { testConfigInput } from '../harness/service.ts';
import { purgeKeys, runCli, writeConfig } from './cli.ts';

const CASES: Array<{ name: string; args: string[]; message: string }> = [
  {
    name: 'no targets at all',
    args: [],
    message: 'a purge needs urls, dirs, pattern, tags or all: true',
  },
  { name: 'an ftp:// URL', args: ['ftp://x'], message: 'urls[0]: must be an absolute http(s) URL' },
  {
    name: 'a pattern that is not a regular expression',
    args: ['--pattern', '(', '--cdn', 'vims-main'],
    message: 'pattern: pattern is not a valid regular expression',
  },
  {
    name: 'an unknown option',
    args: ['--bogus', 'https://www.example.com/a.html'],
    message: "error: unknown option '--bogus'",
  },
  {
    name: 'a URL whose host no route covers',
    args: ['https://elsewhere.test/a.html'],
    message: 'no route covers host(s) elsewhere.test',
  },
];

describe('purge-worker purge with bad input', () => {
  let simulator: Simulator;
  let prefix: string;
  let configPath: string;
  let redis: Redis;

  beforeAll(async () => {
    simulator = await startSimulator(VIMS_RIG.simulatorOptions({ taskDurationMs: 50 }));
    const input = testConfigInput(simulator.url, {}, [VIMS_RIG.cdnEntry(simulator.url)]);
    prefix = input.redis.prefix;
    configPath = await writeConfig(input);
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    redis.disconnect();
    await simulator.close();
  });

  it.concurrent.for(CASES)(
    'refuses $name: exit 2, a clear message on stderr, and no purge record',
    async ({ args, message }, { expect }) => {
      const result = await runCli(['-c', configPath, 'purge', ...args]);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(message);
      expect(await purgeKeys(redis, prefix)).toEqual([]);
    },
  );

  it('after all of them, Redis holds nothing under the prefix but BullMQ queue metadata', async () => {
    const keys = await redis.keys(`${prefix}*`);
    expect(keys.filter((key) => !key.endsWith(':meta'))).toEqual([]);
    expect(simulator.vims.requests).toHaveLength(0);
  });
});
