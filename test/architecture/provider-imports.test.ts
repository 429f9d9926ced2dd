import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const providersDir = new URL('../../src/providers/', import.meta.url);
const providerFolders = readdirSync(providersDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

/**
 * What a provider folder may import: its own files, the provider contract and the helpers shared by
 * providers (HTTP, Retry-After, a submit's fan-out of calls), and libraries.
 */
const ALLOWED = [
  /^\.\/[\w-]+\.ts$/,
  /^\.\.\/(provider|http|retry-after|fan-out)\.ts$/,
  /^\.\.\/\.\.\/(model\/[\w-]+|errors)\.ts$/,
  /^node:/,
  /^(zod|fast-xml-parser|undici)$/,
  // CloudFront: the AWS SDK builds, signs and parses; its transport is replaced by deps.http.
  /^(@aws-sdk\/client-cloudfront|@smithy\/core\/protocols)$/,
];

/**
 * Every way a module reaches another: `import ... from`, `export ... from`, a bare `import '...'`, and
 * `import(...)`. One whose target cannot be read off the source (a computed `import()`, `require`, which
 * ESM code only gets through createRequire) is reported as it stands. Comments are not stripped: a comment
 * that reads like an import is flagged too, which errs on the safe side.
 */
function moduleReferences(source: string): string[] {
  const found: string[] = [];
  const literal = /^\s*(['"])([^'"]+)\1\s*$/;
  for (const [, , target] of source.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g))
    found.push(target as string);
  for (const [, , target] of source.matchAll(/\bimport\s*(['"])([^'"]+)\1/g)) found.push(target as string);
  for (const [call, argument] of source.matchAll(/\bimport\s*\(([^)]*)\)/g)) {
    const plain = literal.exec(argument as string);
    found.push(plain ? (plain[2] as string) : call.replace(/\s+/g, ' '));
  }
  for (const [call] of source.matchAll(/\b(?:require|createRequire)\s*\([^)]*\)/g)) found.push(call);
  return found;
}

describe('provider folders', () => {
  it.each(providerFolders)('%s imports only the provider contract, model, errors and libraries', (folder) => {
    const dir = new URL(`${folder}/`, providersDir);
    const offending: string[] = [];
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(new URL(file, dir), 'utf8');
      for (const target of moduleReferences(source)) {
        if (!ALLOWED.some((rule) => rule.test(target))) offending.push(`${file} -> ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('exist for every provider the config accepts', () => {
    expect(providerFolders.sort()).toEqual([
      'akamai',
      'cloudflare',
      'cloudfront',
      'fastly',
      'quantil',
      'varnish',
      'vims',
    ]);
  });

  it('finds a module however it is reached', () => {
    const source = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n  C,\n} from '../b.ts';",
      "import './side-effect.ts';",
      "export { d } from '../../d.ts';",
      "export * from '../../e.ts';",
      "export type { F } from '../f.ts';",
      "const g = await import('../../g.ts');",
      'const h = await import(`../../${name}.ts`);',
      "const i = require('../../i.ts');",
      'export const from = 1;',
      "const url = 'https://example.com/import';",
    ].join('\n');
    expect(moduleReferences(source).sort()).toEqual(
      [
        './a.ts',
        '../b.ts',
        './side-effect.ts',
        '../../d.ts',
        '../../e.ts',
        '../f.ts',
        '../../g.ts',
        'import(`../../${name}.ts`)',
        "require('../../i.ts')",
      ].sort(),
    );
  });
});
