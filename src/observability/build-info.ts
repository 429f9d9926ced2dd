import { readFileSync } from 'node:fs';
import { Gauge, type Registry } from 'prom-client';

/** The version in package.json, read when called (the image ships package.json beside src/). */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `purge_worker_build_info{version,node} 1`: which build each scraped process runs. */
export function registerBuildInfo(registry: Registry, version: string): void {
  new Gauge({
    name: 'purge_worker_build_info',
    help: 'Always 1: the purge-worker version (package.json) and the Node.js version this process runs',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version, node: process.version }, 1);
}
