import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const providersDir = new URL('../../src/providers/', import.meta.url);
const providerFolders = readdirSync(providersDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/** What a provider folder may import: its own files, the provider contract, and libraries. */
const ALLOWED = [
  /^\.\/[\w-]+\.ts$/,
  /^\.\.\/(provider|http|retry-after)\.ts$/,
  /^\.\.\/\.\.\/(model\/[\w-]+|errors)\.ts$/,
  /^node:/,
  /^(zod|fast-xml-parser|undici)$/,
];

describe('provider folders', () => {
  it.each(providerFolders)('%s imports only the provider contract, model, errors and libraries', (folder) => {
    const dir = new URL(`${folder}/`, providersDir);
    const offending: string[] = [];
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      for (const [, target] of source.matchAll(/^import[^'"]*['"]([^'"]+)['"]/gm)) {
        if (target && !ALLOWED.some((rule) => rule.test(target))) offending.push(`${file} -> ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('exist for every provider the config accepts', () => {
    expect(providerFolders.sort()).toEqual(['quantil', 'vims']);
  });
});
