import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { VIMS_ENTRY } from './fixtures.ts';

const vims = VIMS_ENTRY;
const secret = 'a-secret-of-16-chars-or-more';

const withTokens = (tokens: unknown[]) => ({ cdns: [vims], api: { tokens } });

function linesOf(input: unknown): string[] {
  try {
    parseConfig(input, {});
  } catch (error) {
    if (error instanceof PurgeError && error.code === 'CONFIG_INVALID') return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be refused');
}

/** A typo inside a token entry is named like a typo anywhere else, not hidden behind "Invalid input". */
describe('api.tokens entries', () => {
  it('refuse an unknown key in the object form, naming its path and the key it was meant to be', () => {
    const lines = linesOf(withTokens([{ nme: 'cms', token: secret }]));
    expect(lines).toContain('  - api.tokens[0].nme: unknown key (did you mean "name"?)');
    expect(lines.join('\n')).not.toContain('Invalid input');
  });

  it('name a misspelt token key and the token it leaves missing', () => {
    const lines = linesOf(withTokens([secret, { name: 'cms', tokn: secret }]));
    expect(lines).toContain('  - api.tokens[1].tokn: unknown key (did you mean "token"?)');
    expect(lines).toContain('  - api.tokens[1].token: is required');
  });

  it('name a bad value of the object form by its field', () => {
    const lines = linesOf(withTokens([{ name: 'cms', token: 'short' }]));
    expect(lines).toContain('  - api.tokens[0].token: must be at least 16 characters');
  });

  it('refuse an entry that is neither a token string nor an object, saying what it may be', () => {
    expect(linesOf(withTokens([42]))).toContain(
      '  - api.tokens[0]: must be a token string or { "name": ..., "token": ... }',
    );
  });

  it('still accept a bare token string, and an entry with no name, each named by its position', () => {
    const config = parseConfig(
      withTokens([`bare-${secret}`, { name: 'cms', token: `cms-${secret}` }, { token: `anon-${secret}` }]),
      {},
    );
    expect(config.api.tokens).toEqual([
      { name: 'tokens[0]', token: `bare-${secret}` },
      { name: 'cms', token: `cms-${secret}` },
      { name: 'tokens[2]', token: `anon-${secret}` },
    ]);
  });
});
