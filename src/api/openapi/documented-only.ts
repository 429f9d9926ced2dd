import type { FastifyInstance, FastifySchema } from 'fastify';

/**
 * Schemas the OpenAPI document shows but Fastify must not act on.
 *
 * - Responses: Fastify serializes a response through its schema (fast-json-stringify), which drops every
 *   property the schema does not name. A purge status carries many optional fields, so the API's answers keep
 *   being written by JSON.stringify, exactly as without a schema; response schemas only document them (the
 *   tests check real answers against them).
 * - Request parts that our own code reads and refuses, naming what it refuses (the list's query string, the
 *   replay's optional body, a CMS's payload): added to the route's schema for the document only, through the
 *   route's `swaggerTransform`, so Fastify never validates with them.
 */
export function serializeResponsesAsJson(app: FastifyInstance): void {
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/** Route config adding request schemas to the route's document only (see above). */
export function documentedOnly(parts: Pick<FastifySchema, 'body' | 'querystring' | 'headers'>) {
  return {
    swaggerTransform: ({ schema, url }: { schema: FastifySchema; url: string }) => ({
      schema: { ...schema, ...parts },
      url,
    }),
  };
}

/**
 * Marks an operation whose body may be left out: @fastify/swagger makes every request body it documents
 * required, which `optionalBodies` undoes in the finished document.
 */
export const OPTIONAL_BODY = 'x-optional-body';

interface Operation {
  requestBody?: { required?: boolean };
  [OPTIONAL_BODY]?: boolean;
}

export function optionalBodies<T extends { paths?: unknown }>(document: T): T {
  for (const item of Object.values((document.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    for (const operation of Object.values(item)) {
      if (operation[OPTIONAL_BODY] === undefined) continue;
      if (operation.requestBody) operation.requestBody.required = false;
      delete operation[OPTIONAL_BODY];
    }
  }
  return document;
}
