import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true }) as {
  services: Record<string, { command?: string[]; ports?: string[] }>;
};
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('docker compose on a first run', () => {
  it("gives demo-purge's --wait a timeout, so a demo that cannot finish ends (exit 5)", () => {
    const command = compose.services['demo-purge']?.command ?? [];
    expect(command[0]).toBe('purge');
    expect(command).toContain('--wait');
    const timeout = Number(command[command.indexOf('--timeout') + 1]);
    expect(command).toContain('--timeout');
    expect(timeout).toBeGreaterThan(0);
  });

  it('publishes Redis on loopback, on REDIS_PORT when a Redis already holds 6379 on the host', () => {
    expect(compose.services.redis?.ports).toEqual(['127.0.0.1:${REDIS_PORT:-6379}:6379']);
    expect(readme).toContain('REDIS_PORT');
  });
});
