import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { VIMS_ENTRY } from './fixtures.ts';

const input = (log?: object) => ({
  redis: { url: 'redis://127.0.0.1:6379' },
  cdns: [VIMS_ENTRY],
  ...(log ? { log } : {}),
});

describe('LOG_LEVEL', () => {
  it('overrides log.level from the file, and fills it in when the file has none', () => {
    expect(parseConfig(input({ level: 'warn' }), { LOG_LEVEL: 'debug' }).log.level).toBe('debug');
    expect(parseConfig(input(), { LOG_LEVEL: 'trace' }).log.level).toBe('trace');
  });

  it('leaves log.level alone when unset or empty', () => {
    expect(parseConfig(input({ level: 'warn' }), {}).log.level).toBe('warn');
    expect(parseConfig(input({ level: 'warn' }), { LOG_LEVEL: '' }).log.level).toBe('warn');
    expect(parseConfig(input(), {}).log.level).toBe('info');
  });

  it('is refused, named with the levels it may be, when it is no level', () => {
    const parse = () => parseConfig(input({ level: 'warn' }), { LOG_LEVEL: 'verbose' });
    expect(parse).toThrow(PurgeError);
    expect(parse).toThrow('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent');
  });
});
