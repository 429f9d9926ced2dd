import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../../src/node-flags.ts';

const root = new URL('../../', import.meta.url);
const dockerfile = readFileSync(new URL('Dockerfile', root), 'utf8');
const packageJson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  scripts: Record<string, string>;
};

/** The NODE_OPTIONS value the image's runtime stage sets. */
function imageNodeOptions(): string | undefined {
  return /NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1];
}

describe("the service's Node flags", () => {
  it('are what `npm start` passes to node, before the entry point', () => {
    // `exec`: npm's shell becomes node, so the signals npm forwards reach the service (README Operations).
    expect(packageJson.scripts.start).toBe(`exec node ${SERVICE_NODE_FLAGS.join(' ')} src/main.ts`);
  });

  it("are the image's NODE_OPTIONS", () => {
    expect(imageNodeOptions()).toBe(SERVICE_NODE_FLAGS.join(' '));
  });

  it('are accepted by node in NODE_OPTIONS (it refuses flags not allowed there) and cap the young generation', () => {
    // Short-lived objects that survive a few scavenges: what makes V8 grow its young generation to its
    // maximum (two semi-spaces) on its own.
    const growNewSpace = `
      const v8 = require('node:v8');
      let largest = 0;
      let kept = [];
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 200000; i++) kept.push({ i, s: 'x' + i });
        if (kept.length > 1e6) kept = [];
        const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
        largest = Math.max(largest, space.space_size);
      }
      console.log(largest);`;
    const largestNewSpace = (nodeOptions: string) =>
      Number(
        execFileSync(process.execPath, ['-e', growNewSpace], {
          env: { ...process.env, NODE_OPTIONS: nodeOptions },
          encoding: 'utf8',
        }),
      );
    const capped = largestNewSpace(imageNodeOptions() ?? '');
    const uncapped = largestNewSpace('');
    // Two 16 MiB semi-spaces and V8's own pages beside them; Node 24's default grows to 128 MiB here.
    expect(capped).toBeLessThanOrEqual(48 * 1024 * 1024);
    expect(uncapped).toBeGreaterThan(capped);
  });
});
