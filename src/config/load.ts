import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { PurgeError } from '../errors.ts';
import { formatPath } from './issue-path.ts';
import { coerceWholePlaceholders, interpolate, placeholderTypeMessage } from './placeholders.ts';
import { type Config, configSchema, LOG_LEVELS } from './schema.ts';
import { type ConfigIssue, collectUnknownKeys } from './unknown-keys.ts';

/** Where a config is looked for when none is named, in this order, in the working directory. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = [
  'purge-worker.json',
  'purge-worker.yaml',
  'purge-worker.yml',
];

/** The bundled demo (the CDN simulator's address, demo secrets), beside the sources rather than the cwd. */
export function demoConfigPath(): string {
  return fileURLToPath(new URL('../../examples/demo.json', import.meta.url));
}

export interface ConfigChoice {
  path: string;
  /** How it was chosen: named (`--config`), PURGE_CONFIG, found in the working directory, or the demo. */
  source: '--config' | 'PURGE_CONFIG' | 'working directory' | 'demo';
}

/**
 * The config a command uses, the same for `npm start`, `purge-worker start` and every other command: an
 * explicit path, then PURGE_CONFIG, then ./purge-worker.json (.yaml, .yml); with none of them, the bundled
 * demo, so a fresh clone runs instead of stopping (and says so). A named file is used as named, found or not.
 */
export function findConfig(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): ConfigChoice {
  if (explicit !== undefined) return { path: explicit, source: '--config' };
  if (env.PURGE_CONFIG !== undefined) return { path: env.PURGE_CONFIG, source: 'PURGE_CONFIG' };
  const found = DEFAULT_CONFIG_PATHS.find((path) => exists(path));
  if (found) return { path: found, source: 'working directory' };
  const demo = demoConfigPath();
  if (exists(demo)) return { path: demo, source: 'demo' };
  throw new PurgeError('CONFIG_INVALID', `no config file: ${LOOKED_FOR} (purge-worker init writes one)`);
}

export const LOOKED_FOR = `looked for --config, then PURGE_CONFIG, then ${DEFAULT_CONFIG_PATHS.map((p) => `./${p}`).join(', ')}`;

/**
 * Reads, interpolates and validates a config file. `adjust` sees the file as parsed, before anything else
 * (the demo points its CDNs at the simulator it started).
 */
export async function loadConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  adjust: (raw: unknown) => unknown = (raw) => raw,
): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PurgeError('CONFIG_INVALID', `cannot read config file ${path}: ${(error as Error).message}`);
  }
  const format = FORMATS[extname(path).toLowerCase()];
  if (!format) {
    throw new PurgeError('CONFIG_INVALID', `config file ${path}: use a .json, .yaml or .yml file`);
  }
  let raw: unknown;
  try {
    raw = format.parse(text);
  } catch (error) {
    throw new PurgeError(
      'CONFIG_INVALID',
      `config file ${path} is not valid ${format.name}: ${(error as Error).message}`,
    );
  }
  return parseConfig(adjust(raw), env, path);
}

const yaml = { name: 'YAML', parse: (text: string) => parseYaml(text) as unknown };
const FORMATS: Record<string, { name: string; parse: (text: string) => unknown }> = {
  '.json': { name: 'JSON', parse: (text) => JSON.parse(text) as unknown },
  '.yaml': yaml,
  '.yml': yaml,
};

/** Interpolates `${VAR}` from env, validates, and freezes. Every bad field is named in one error. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config'): Config {
  const { value, missing, wholePlaceholders } = interpolate(raw, env);
  if (missing.size > 0) {
    throw new PurgeError(
      'CONFIG_INVALID',
      `${source}: environment variable(s) not set: ${[...missing].sort().join(', ')}`,
    );
  }
  const input = withLogLevelFromEnv(withRedisUrlDefault(value, env), env);
  const unknownKeys = collectUnknownKeys();
  const validate = () =>
    configSchema.safeParse(input, {
      error: (issue) =>
        unknownKeys.message(issue) ??
        placeholderTypeMessage(issue, wholePlaceholders) ??
        requiredFieldMessage(issue),
    });
  let parsed = validate();
  // A second pass only when placeholders in number or boolean fields were coerced (see placeholders.ts).
  if (!parsed.success && coerceWholePlaceholders(input, parsed.error.issues, wholePlaceholders)) {
    parsed = validate();
  }
  if (!parsed.success) {
    const issues = unknownKeys.expand(parsed.error.issues);
    throw new PurgeError('CONFIG_INVALID', `${source} is invalid:\n${formatIssues(issues)}`);
  }
  return deepFreeze(parsed.data);
}

export const FALLBACK_REDIS_URL = 'redis://127.0.0.1:6379';

function withRedisUrlDefault(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const root = value as Record<string, unknown>;
  const redis = (root.redis ?? {}) as Record<string, unknown>;
  if (typeof redis !== 'object' || redis === null || redis.url !== undefined) return value;
  return { ...root, redis: { ...redis, url: env.REDIS_URL ?? FALLBACK_REDIS_URL } };
}

/** LOG_LEVEL, when set, wins over log.level: turning on debug for one run needs no edit of the file. */
function withLogLevelFromEnv(value: unknown, env: NodeJS.ProcessEnv): unknown {
  const level = env.LOG_LEVEL;
  if (level === undefined || level === '') return value;
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new PurgeError('CONFIG_INVALID', `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const root = value as Record<string, unknown>;
  const log = root.log !== null && typeof root.log === 'object' ? root.log : {};
  return { ...root, log: { ...log, level } };
}

/** zod's own words for a missing field ("Invalid input: expected string, received undefined") hide the point. */
function requiredFieldMessage(issue: { input?: unknown; code?: string }): string | undefined {
  const missing =
    issue.input === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union');
  return missing ? 'is required' : undefined;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `  - ${formatPath(issue.path)}: ${issue.message}`).join('\n');
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}
