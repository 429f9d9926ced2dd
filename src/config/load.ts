import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PurgeError } from '../errors.ts';
import { formatPath } from './issue-path.ts';
import { coerceWholePlaceholders, interpolate, placeholderTypeMessage } from './placeholders.ts';
import { type Config, configSchema, LOG_LEVELS } from './schema.ts';
import { type ConfigIssue, collectUnknownKeys } from './unknown-keys.ts';

export const DEFAULT_CONFIG_PATH = 'purge-worker.json';
export const DEMO_CONFIG_PATH = 'examples/demo.json';

/** Config path: explicit argument, then PURGE_CONFIG, then ./purge-worker.json. */
export function resolveConfigPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.PURGE_CONFIG ?? DEFAULT_CONFIG_PATH;
}

/**
 * For starting the service: as resolveConfigPath, but a fresh clone with no config of its own runs the demo
 * config (the bundled CDN simulator's address, demo secrets) instead of stopping, and says so.
 */
export function resolveServiceConfigPath(explicit?: string, env: NodeJS.ProcessEnv = process.env) {
  const path = resolveConfigPath(explicit, env);
  const nothingChosen = explicit === undefined && env.PURGE_CONFIG === undefined;
  if (nothingChosen && !existsSync(path) && existsSync(DEMO_CONFIG_PATH))
    return { path: DEMO_CONFIG_PATH, demo: true };
  return { path, demo: false };
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
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
  return parseConfig(raw, env, path);
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
