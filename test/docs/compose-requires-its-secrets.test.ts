import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';

// docker-compose itself checks the same at start-up (`.ci/run` runs it with each secret unset); this reads
// the files, so it also runs where docker-compose is not installed.
const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string> }>;
};
const demoEnv = parseEnv(read('examples/demo.env'));
const composeConfig = JSON.parse(read('examples/compose.json')) as unknown;

/** Every `${...}` in the services' environment, by service. */
const interpolations = Object.entries(compose.services).flatMap(([service, { environment = {} }]) =>
  Object.entries(environment).flatMap(([name, value]) =>
    [...String(value).matchAll(/\$\{([^}]*)\}/g)].map((match) => ({
      service,
      name,
      expression: match[1] ?? '',
    })),
  ),
);

describe('docker compose', () => {
  it('requires every variable it takes from the environment, with no fallback value to start on', () => {
    expect(interpolations.length).toBeGreaterThan(0);
    for (const { service, name, expression } of interpolations) {
      expect(`${service}: ${expression}`).toMatch(
        new RegExp(
          `^${service}: ${name}:\\?set ${name}, or for the demo add --env-file examples/demo\\.env$`,
        ),
      );
    }
  });

  it("gets every one of them from the demo's env file, and nothing else", () => {
    const required = [...new Set(interpolations.map(({ name }) => name))].sort();
    expect(Object.keys(demoEnv).sort()).toEqual(required);
  });

  it('passes them to a config that refuses to load without any one of them', () => {
    expect(() => parseConfig(composeConfig, demoEnv)).not.toThrow();
    for (const name of Object.keys(demoEnv)) {
      const { [name]: _left, ...rest } = demoEnv;
      expect(() => parseConfig(composeConfig, rest)).toThrow(PurgeError);
      expect(() => parseConfig(composeConfig, rest)).toThrow(name);
    }
  });
});
