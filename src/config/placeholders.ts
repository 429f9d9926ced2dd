import type { z } from 'zod';
import { pathKey } from './issue-path.ts';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const WHOLE_PLACEHOLDER = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const DECIMAL = /^-?\d+(?:\.\d+)?$/;

export interface Interpolated {
  value: unknown;
  /** Variables named in the file but not set. */
  missing: Set<string>;
  /** Where a string was exactly one placeholder (`"${PORT}"`): path key -> variable name. */
  wholePlaceholders: Map<string, string>;
}

/**
 * Replaces `${VAR}` in every string from env. The environment only holds text, so `"port": "${PORT}"` yields
 * "8080"; a number or boolean field takes it as 8080 or true, but only where the string was exactly one
 * placeholder: those places are remembered here by path.
 *
 * Why by path and after a first validation, rather than z.coerce or a preprocess on each field: which fields
 * are numbers is the schema's knowledge, and zod states it in its issues ("expected number" at `api.port`).
 * Coercing exactly those paths that were whole placeholders, then validating again, works for every number
 * and boolean field, including ones added later, with nothing to remember when adding one; a string a user
 * typed in the file ("8080") stays a string and is refused, and string fields (tokens made of digits) are
 * never touched.
 */
export function interpolate(raw: unknown, env: NodeJS.ProcessEnv): Interpolated {
  const missing = new Set<string>();
  const wholePlaceholders = new Map<string, string>();
  const visit = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') {
      const whole = WHOLE_PLACEHOLDER.exec(value);
      if (whole?.[1]) wholePlaceholders.set(pathKey(path), whole[1]);
      return value.replace(PLACEHOLDER, (_match, name: string) => {
        const found = env[name];
        if (found === undefined) {
          missing.add(name);
          return '';
        }
        return found;
      });
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...path, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, visit(item, [...path, key])]),
      );
    }
    return value;
  };
  return { value: visit(raw, []), missing, wholePlaceholders };
}

/** The error map's part: a whole placeholder whose value is no number (or boolean) is named, not shown. */
export function placeholderTypeMessage(
  issue: z.core.$ZodRawIssue,
  wholePlaceholders: ReadonlyMap<string, string>,
): string | undefined {
  if (issue.code !== 'invalid_type' || typeof issue.input !== 'string') return undefined;
  const name = wholePlaceholders.get(pathKey(issue.path ?? []));
  if (name === undefined) return undefined;
  // The value may be a secret put in the wrong variable: the message names the variable, never its value.
  if (issue.expected === 'number') return `\${${name}} is not a number`;
  if (issue.expected === 'boolean') return `\${${name}} is not true or false`;
  return undefined;
}

/**
 * Turns the whole placeholders that a first validation found in number or boolean fields into numbers and
 * booleans, in place (`input` is the interpolated copy, never the caller's object). True when any changed,
 * so the caller validates again.
 */
export function coerceWholePlaceholders(
  input: unknown,
  issues: readonly z.core.$ZodIssue[],
  wholePlaceholders: ReadonlyMap<string, string>,
): boolean {
  let changed = false;
  for (const issue of issues) {
    if (issue.code !== 'invalid_type' || !wholePlaceholders.has(pathKey(issue.path))) continue;
    const parent = parentAt(input, issue.path);
    const key = issue.path.at(-1);
    if (parent === undefined || key === undefined) continue;
    const text = parent[key as string];
    if (typeof text !== 'string') continue;
    const value = coerce(text, issue.expected);
    if (value === undefined) continue;
    parent[key as string] = value;
    changed = true;
  }
  return changed;
}

function coerce(text: string, expected: string): number | boolean | undefined {
  if (expected === 'number' && DECIMAL.test(text)) return Number(text);
  if (expected === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return undefined;
}

function parentAt(root: unknown, path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let node = root;
  for (const part of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part as string];
  }
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
}
