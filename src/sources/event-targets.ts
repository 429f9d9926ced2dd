import type { ContentTemplates, SourceConfig } from '../config/sources.ts';
import { PurgeError } from '../errors.ts';
import type { SourceEvent } from './source.ts';
import { expandTemplate, type FieldProblem, parseUrlTemplate, type UrlTemplate } from './url-template.ts';

/** What a source does with one event: purge these URLs and dirs, or nothing, for a reason. */
export type EventTargets =
  | { kind: 'purge'; urls: string[]; dirs: string[] }
  | { kind: 'ignored'; reason: string };

interface CompiledTemplates {
  urls: UrlTemplate[];
  dirs: UrlTemplate[];
}

export interface EventRules {
  targetsOf(event: SourceEvent): EventTargets;
}

/** The key of `templates` that serves every content type without an entry of its own. */
export const ANY_CONTENT_TYPE = '*';

/**
 * A source's event names and templates, compiled once. Events it does not purge on, and content types it
 * has no template for, are ignored (answered 202, not an error): a CMS counts a 4xx as a failed delivery
 * (retried, alerted on, or the webhook disabled), for events never meant to purge anything. A template
 * naming a field the event lacks is an error (422 TEMPLATE_FIELD_MISSING): a mapping to fix, which the
 * CMS's delivery log should show.
 */
export function compileEventRules(
  source: SourceConfig,
  defaultEvents: readonly string[] | undefined,
): EventRules {
  const events = source.events ?? defaultEvents;
  const templates = new Map(
    Object.entries(source.templates).map(([type, entry]) => [type, compileTemplates(entry)]),
  );
  return {
    targetsOf(event) {
      if (events !== undefined && (event.name === undefined || !events.includes(event.name))) {
        return {
          kind: 'ignored',
          reason: `event ${quoted(event.name)} is not one this source purges on (events: ${events.join(', ')})`,
        };
      }
      const type = event.contentType;
      const entry = (type === undefined ? undefined : templates.get(type)) ?? templates.get(ANY_CONTENT_TYPE);
      if (!entry) return { kind: 'ignored', reason: `no template for content type ${quoted(type)}` };
      return {
        kind: 'purge',
        urls: expandAll(entry.urls, event, type),
        dirs: expandAll(entry.dirs, event, type),
      };
    },
  };
}

function compileTemplates(entry: ContentTemplates): CompiledTemplates {
  return { urls: entry.urls.map(compiled), dirs: entry.dirs.map(compiled) };
}

function compiled(source: string): UrlTemplate {
  const parsed = parseUrlTemplate(source);
  // The config schema has refused every template that does not parse.
  if (!parsed.ok) throw new Error(`template ${source} ${parsed.message}`);
  return parsed.template;
}

function expandAll(
  templates: readonly UrlTemplate[],
  event: SourceEvent,
  type: string | undefined,
): string[] {
  const urls = templates.map((template) => {
    const expanded = expandTemplate(template, event.document);
    if (expanded.ok) return expanded.url;
    throw fieldError(template, expanded.field, expanded.problem, type);
  });
  return [...new Set(urls)];
}

function fieldError(template: UrlTemplate, field: string, problem: FieldProblem, type: string | undefined) {
  const where = `template ${template.source} (content type ${quoted(type)})`;
  switch (problem) {
    case 'missing':
      return new PurgeError(
        'TEMPLATE_FIELD_MISSING',
        `${where} names field "${field}", which the event does not have (or is empty)`,
      );
    case 'not-text':
      return new PurgeError(
        'TEMPLATE_FIELD_MISSING',
        `${where} names field "${field}", which is not a string or number in the event`,
      );
    case 'dot-segment':
      return new PurgeError('REQUEST_INVALID', `${where}: field "${field}" is a "." or ".." path segment`);
    case 'malformed-text':
      return new PurgeError('REQUEST_INVALID', `${where}: field "${field}" is not well-formed Unicode`);
  }
}

/** A value from a payload in a message: quoted, and cut short. */
function quoted(value: string | undefined): string {
  if (value === undefined) return '(none)';
  return JSON.stringify(value.length > 128 ? `${value.slice(0, 128)}…` : value);
}
