/**
 * URL templates of webhook sources: `https://www.example.com/news/{fields.slug.en-US}`. Parsed once, at
 * config load, by scanning for braces (no regex over the template, none over a payload's values); expanded
 * per event with each field's value percent-encoded, so a value can never change the scheme, the host or
 * the shape of the URL around it.
 *
 * `{path}` encodes the whole value as one component (a `/` in it becomes `%2F`); `{+path}` keeps the `/`s
 * (a Storyblok `full_slug` such as `news/my-article`) and encodes each segment on its own.
 */
export type TemplatePart =
  | { kind: 'literal'; text: string }
  | { kind: 'field'; name: string; path: readonly string[]; keepSlashes: boolean };

export interface UrlTemplate {
  source: string;
  parts: readonly TemplatePart[];
}

export type TemplateParse = { ok: true; template: UrlTemplate } | { ok: false; message: string };

export const MAX_TEMPLATE_LENGTH = 2048;

// Dot-separated keys; each repetition starts with the one character the keys cannot hold, so it is linear.
const FIELD_PATH = /^[A-Za-z0-9_$@-]{1,128}(?:\.[A-Za-z0-9_$@-]{1,128}){0,15}$/;

export function isFieldPath(name: string): boolean {
  return FIELD_PATH.test(name);
}

export function parseUrlTemplate(source: string): TemplateParse {
  if (source.length > MAX_TEMPLATE_LENGTH) {
    return { ok: false, message: `is longer than ${MAX_TEMPLATE_LENGTH} characters` };
  }
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{', at);
    const stray = source.indexOf('}', at);
    if (stray >= 0 && (open < 0 || stray < open)) {
      return { ok: false, message: `has a "}" with no "{" before it (at ${stray})` };
    }
    if (open < 0) {
      parts.push({ kind: 'literal', text: source.slice(at) });
      break;
    }
    if (open > at) parts.push({ kind: 'literal', text: source.slice(at, open) });
    const close = source.indexOf('}', open + 1);
    if (close < 0) return { ok: false, message: `has a "{" that is never closed (at ${open})` };
    const inside = source.slice(open + 1, close);
    const keepSlashes = inside.startsWith('+');
    const name = keepSlashes ? inside.slice(1) : inside;
    if (!isFieldPath(name)) {
      return {
        ok: false,
        message: `names "${inside}", which is not a field path (dot-separated keys of A-Z a-z 0-9 _ $ @ -, e.g. {fields.slug.en-US} or {+full_slug})`,
      };
    }
    parts.push({ kind: 'field', name, path: name.split('.'), keepSlashes });
    at = close + 1;
  }
  const origin = checkLiteralOrigin(source);
  return origin ? { ok: false, message: origin } : { ok: true, template: { source, parts } };
}

/** The scheme and host are the template's own: a field may stand only after them. */
function checkLiteralOrigin(source: string): string | undefined {
  const scheme = source.slice(0, source.indexOf('://') + 3).toLowerCase();
  if (scheme !== 'http://' && scheme !== 'https://') return 'must start with http:// or https://';
  const firstField = source.indexOf('{');
  const authorityEnd = firstOf(source, ['/', '?', '#'], scheme.length);
  if (firstField >= 0 && (authorityEnd < 0 || firstField < authorityEnd)) {
    return 'may hold fields only in its path, query or fragment: the scheme and host must be written out';
  }
  try {
    new URL(source.replaceAll('{', '').replaceAll('}', ''));
  } catch {
    return 'is not an absolute URL';
  }
  return undefined;
}

function firstOf(text: string, needles: readonly string[], from: number): number {
  const found = needles.map((needle) => text.indexOf(needle, from)).filter((index) => index >= 0);
  return found.length > 0 ? Math.min(...found) : -1;
}

/** Why a field's value could not go into a URL. */
export type FieldProblem = 'missing' | 'not-text' | 'dot-segment' | 'malformed-text';

export type Expansion = { ok: true; url: string } | { ok: false; field: string; problem: FieldProblem };

export function expandTemplate(template: UrlTemplate, document: unknown): Expansion {
  let url = '';
  for (const part of template.parts) {
    if (part.kind === 'literal') {
      url += part.text;
      continue;
    }
    const encoded = encodeField(readField(document, part.path), part.keepSlashes);
    if (typeof encoded !== 'string') return { ok: false, field: part.name, problem: encoded.problem };
    url += encoded;
  }
  return { ok: true, url };
}

/**
 * The value at `path`, through own properties only: `__proto__` or `constructor` in a template never
 * reaches past the payload. Array elements are read by index (`tags.0`).
 */
export function readField(document: unknown, path: readonly string[]): unknown {
  let current = document;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function encodeField(value: unknown, keepSlashes: boolean): string | { problem: FieldProblem } {
  if (value === undefined || value === null || value === '') return { problem: 'missing' };
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return { problem: 'not-text' };
  // A lone surrogate (valid in JSON) cannot be percent-encoded.
  if (!value.isWellFormed()) return { problem: 'malformed-text' };
  const segments = keepSlashes ? value.split('/') : [value];
  // `..` would climb out of the path the template wrote: `/news/{slug}` must not purge `/`.
  if (segments.some((segment) => segment === '.' || segment === '..')) return { problem: 'dot-segment' };
  return segments.map((segment) => encodeURIComponent(segment)).join('/');
}
