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
  services: Record<string, { image?: string; environment?: Record<string, string> }>;
};
const demoEnv = parseEnv(read('examples/demo.env'));
const composeConfig = JSON.parse(read('examples/compose.json')) as unknown;

/** Every `${...}` in the services' environment, by service and the environment entry it fills. */
const interpolations = Object.entries(compose.services).flatMap(([service, { image, environment = {} }]) =>
  Object.entries(environment).flatMap(([name, value]) =>
    [...String(value).matchAll(/\$\{([^}]*)\}/g)].map((match) => ({
      service,
      image,
      name,
      expression: match[1] ?? '',
      variable: /^(\w+):\?/.exec(match[1] ?? '')?.[1] ?? '',
    })),
  ),
);
/** The purge-worker services' own: each reaches the config under its own name. */
const serviceSecrets = interpolations.filter(({ image }) => image === 'purge-worker:local');

describe('docker compose', () => {
  it('requires every variable it takes from the environment, with no fallback value to start on', () => {
    expect(interpolations.length).toBeGreaterThan(0);
    for (const { service, variable, expression } of interpolations) {
      expect(variable).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(`${service}: ${expression}`).toMatch(
        new RegExp(
          `^${service}: ${variable}:\\?set ${variable}, or for the demo add --env-file examples/demo\\.env$`,
        ),
      );
    }
  });

  it("gets every one of them from the demo's env file, and nothing else", () => {
    const required = [...new Set(interpolations.map(({ variable }) => variable))].sort();
    expect(Object.keys(demoEnv).sort()).toEqual(required);
  });

  it('passes the service its own under their names, to a config that refuses to load without any one of them', () => {
    expect(serviceSecrets.length).toBeGreaterThan(0);
    for (const { name, variable } of serviceSecrets) expect(name).toBe(variable);
    const names = [...new Set(serviceSecrets.map(({ variable }) => variable))];
    expect(() => parseConfig(composeConfig, demoEnv)).not.toThrow();
    for (const name of names) {
      const { [name]: _left, ...rest } = demoEnv;
      expect(() => parseConfig(composeConfig, rest)).toThrow(PurgeError);
      expect(() => parseConfig(composeConfig, rest)).toThrow(name);
    }
  });

  it("passes Grafana its admin password and no other service's secret: its own default is public", () => {
    const grafana = interpolations.filter(({ service }) => service === 'grafana');
    expect(grafana.map(({ name, variable }) => [name, variable])).toEqual([
      ['GF_SECURITY_ADMIN_PASSWORD', 'GRAFANA_ADMIN_PASSWORD'],
    ]);
    expect(serviceSecrets.map(({ variable }) => variable)).not.toContain('GRAFANA_ADMIN_PASSWORD');
  });
});
