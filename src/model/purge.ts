import { z } from 'zod';

/** The four ways a purge can name what to invalidate; providers declare which of them they support. */
export const TARGET_KINDS = ['urls', 'dirs', 'pattern', 'all'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const MAX_PATTERN_LENGTH = 1024;

const httpUrl = z
  .string()
  .max(4096, 'URL is longer than 4096 characters')
  .refine(isHttpUrl, { message: 'must be an absolute http(s) URL' });

const regexSource = z
  .string()
  .min(1, 'pattern must not be empty')
  .max(MAX_PATTERN_LENGTH, `pattern is longer than ${MAX_PATTERN_LENGTH} characters`)
  .refine(compiles, { message: 'pattern is not a valid regular expression' });

const cdnIdList = z.array(z.string().min(1)).min(1, 'cdns, when given, must name at least one CDN');

/** What producers (API, CLI, library) hand to the pipeline. `cdns` overrides host routing. */
export const purgeRequestSchema = z
  .object({
    urls: z.array(httpUrl).optional(),
    dirs: z.array(httpUrl).optional(),
    pattern: regexSource.optional(),
    all: z.boolean().optional(),
    cdns: cdnIdList.optional(),
  })
  .strict()
  .superRefine((request, ctx) => {
    const hasUrls = (request.urls?.length ?? 0) > 0;
    const hasDirs = (request.dirs?.length ?? 0) > 0;
    const hasPattern = request.pattern !== undefined;
    if (!hasUrls && !hasDirs && !hasPattern && request.all !== true) {
      ctx.addIssue({ code: 'custom', message: 'a purge needs urls, dirs, pattern or all: true' });
    }
    if (request.all === true && (hasUrls || hasDirs || hasPattern)) {
      ctx.addIssue({
        code: 'custom',
        path: ['all'],
        message: 'all: true cannot be combined with other targets',
      });
    }
  });

export type PurgeRequest = z.infer<typeof purgeRequestSchema>;

/**
 * What one CDN must purge. A batch is a slice of a target sized for one API call, so both share this shape:
 * a provider receives exactly the items it agreed to take in `toBatches`.
 */
export interface PurgeTarget {
  urls: string[];
  dirs: string[];
  pattern?: string;
  all?: boolean;
}

export function targetKinds(target: PurgeTarget): TargetKind[] {
  const kinds: TargetKind[] = [];
  if (target.urls.length > 0) kinds.push('urls');
  if (target.dirs.length > 0) kinds.push('dirs');
  if (target.pattern !== undefined) kinds.push('pattern');
  if (target.all === true) kinds.push('all');
  return kinds;
}

export function targetSize(target: PurgeTarget): number {
  return (
    target.urls.length + target.dirs.length + (target.pattern === undefined ? 0 : 1) + (target.all ? 1 : 0)
  );
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  } catch {
    return false;
  }
}

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}
