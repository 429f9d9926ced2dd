import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inCi, requireTool } from '../harness/requirement.ts';

const testDir = new URL('../', import.meta.url);
const testFiles = readdirSync(testDir, { recursive: true, encoding: 'utf8' }).filter((path) =>
  path.endsWith('.test.ts'),
);

describe('skipped tests', () => {
  it('fail under CI=true, naming the test and what is missing, instead of skipping', () => {
    expect(() => requireTool(false, 'browser test', 'no Chromium', { CI: 'true' })).toThrow(
      'browser test cannot run under CI=true: no Chromium',
    );
    expect(() => requireTool(false, 'browser test', 'no Chromium', { CI: '1' })).toThrow();
    expect(requireTool(true, 'browser test', 'no Chromium', { CI: 'true' })).toBe(true);
    expect([inCi({}), inCi({ CI: 'false' }), inCi({ CI: 'true' })]).toEqual([false, false, true]);
  });

  it('are skipped only by a tool requirement: a skip of any other kind would pass CI unseen', () => {
    const unchecked = testFiles.filter((path) => {
      const source = readFileSync(new URL(path, testDir), 'utf8');
      const skips = /\.(skip|skipIf|runIf|todo)\s*\(|\bcontext\.skip\(|\bctx\.skip\(/.test(source);
      // browser.ts's hasChromium is itself a requireTool check.
      const required = ["from '../harness/requirement.ts'", "from '../harness/browser.ts'"];
      return skips && !required.some((module) => source.includes(module));
    });
    expect(unchecked).toEqual([]);
    // Unconditional skips have no requirement to check: none at all.
    const unconditional = testFiles.filter((path) =>
      /\b(it|test|describe)\.(skip|todo)\s*\(/.test(readFileSync(new URL(path, testDir), 'utf8')),
    );
    expect(unconditional).toEqual([]);
  });
});
