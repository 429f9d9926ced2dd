import leven from 'leven';
import type { z } from 'zod';
import { pathKey } from './issue-path.ts';

/**
 * Unknown keys, one line each with its own path and the key it was probably meant to be. Every object of the
 * config schema is a `z.strictObject` (a test walks the schema to keep it so); zod reports one
 * `unrecognized_keys` issue per object. The known keys come from the object that raised the issue, read in the
 * parse's error map (the only place zod hands over that schema), so a field added anywhere is suggested with
 * no list of names to keep up to date.
 */
export interface UnknownKeys {
  /** The error map's part: remembers the keys of the object that refused a key. */
  message(issue: z.core.$ZodRawIssue): string | undefined;
  /** One issue per unknown key, in place of zod's one per object. */
  expand(issues: readonly z.core.$ZodIssue[]): ConfigIssue[];
}

export interface ConfigIssue {
  path: readonly PropertyKey[];
  message: string;
}

export function collectUnknownKeys(): UnknownKeys {
  const knownKeysAt = new Map<string, string[]>();
  return {
    message(issue) {
      if (issue.code !== 'unrecognized_keys') return undefined;
      knownKeysAt.set(pathKey(issue.path ?? []), shapeKeys(issue.inst));
      return 'unknown key';
    },
    expand(issues) {
      return issues.flatMap((issue): ConfigIssue[] => {
        if (issue.code !== 'unrecognized_keys') return [issue];
        const known = knownKeysAt.get(pathKey(issue.path)) ?? [];
        return issue.keys.map((key) => ({
          path: [...issue.path, key],
          message: `unknown key${didYouMean(key, known)}`,
        }));
      });
    },
  };
}

/**
 * The nearest known key, when it is near enough to be the likely intent: the same letters in another case
 * (`ratelimit`, `URL`), or at most two edits that leave most of the typed key standing (so `x` does not
 * suggest `id`).
 */
export function didYouMean(key: string, known: readonly string[]): string {
  const typed = key.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = leven(typed, candidate.toLowerCase(), { maxDistance: 3 });
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  if (best === undefined || best.distance > 2 || best.distance * 2 > typed.length) return '';
  return ` (did you mean "${best.key}"?)`;
}

function shapeKeys(inst: unknown): string[] {
  const shape = (inst as { _zod?: { def?: { shape?: unknown } } } | undefined)?._zod?.def?.shape;
  return shape !== null && typeof shape === 'object' ? Object.keys(shape) : [];
}
