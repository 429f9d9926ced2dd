import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';

/** The parts of an OpenAPI 3.1 document the tests read. */
export interface Media {
  schema?: Record<string, unknown>;
  example?: unknown;
  examples?: Record<string, { value: unknown }>;
}
export interface DocResponse {
  description: string;
  headers?: Record<string, { description?: string; schema: Record<string, unknown> }>;
  content?: Record<string, Media>;
}
export interface Operation {
  operationId: string;
  security?: Array<Record<string, string[]>>;
  requestBody?: { required: boolean; content: Record<string, Media> };
  responses: Record<string, DocResponse>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, Record<string, unknown>> };
}

export async function documentOf(app: FastifyInstance): Promise<OpenApiDocument> {
  const response = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(response.statusCode).toBe(200);
  return response.json<OpenApiDocument>();
}

export const operations = (document: OpenApiDocument) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ path, method, operation })),
  );

/** JSON Pointer escaping of one reference token. */
const token = (text: string) => text.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * A copy of the document whose object schemas are all closed (`additionalProperties: false` where they
 * name their properties and say nothing of others): the document stays open for clients, but a real
 * answer checked against the closed copy cannot carry a field the document does not describe.
 */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = key === 'examples' || key === 'example' ? inner : closed(inner);
  }
  if (copy.type === 'object' && copy.properties !== undefined && copy.additionalProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

/**
 * Checks real answers against the document: the status is documented for the route, the media type is one
 * it documents, the body validates against that status's schema (closed, with Ajv's 2020-12 dialect, which
 * OpenAPI 3.1 uses) and the documented headers come with it. Records every (operation, status) checked.
 */
export function answerChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(closed(document) as Record<string, unknown>, 'openapi.json');
  const routes = operations(document).map(({ path, method, operation }) => ({
    path,
    method,
    operation,
    pattern: new RegExp(`^${path.replace(/\{[^/}]+\}/g, '[^/]+')}$`),
  }));
  const checked = new Set<string>();

  function check(method: string, url: string, response: LightMyRequestResponse): void {
    const path = url.split('?')[0] ?? url;
    const route = routes.find((r) => r.method === method.toLowerCase() && r.pattern.test(path));
    if (!route) throw new Error(`${method} ${path} is in no path of the document`);
    const where = `${method} ${route.path} ${response.statusCode}`;
    const documented = route.operation.responses[String(response.statusCode)];
    expect(documented, `${where} is not documented: ${response.body.slice(0, 300)}`).toBeDefined();
    checked.add(`${route.operation.operationId} ${response.statusCode}`);
    const media =
      String(response.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const content = documented?.content ?? {};
    expect(Object.keys(content), `${where}: media type`).toContain(media);
    const body = media === 'application/json' ? response.json<unknown>() : response.body;
    const pointer = ['paths', route.path, route.method, 'responses', String(response.statusCode), 'content']
      .concat(media, 'schema')
      .map(token)
      .join('/');
    const validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
    expect(validate(body) ? [] : validate.errors, `${where}: ${JSON.stringify(body).slice(0, 400)}`).toEqual(
      [],
    );
    for (const [name, header] of Object.entries(documented?.headers ?? {})) {
      // "with CODE: ..." headers come with that code only; the others always.
      const only = /^with ([A-Z_]+):/.exec(header.description ?? '')?.[1];
      if (only !== undefined && (body as { error?: string }).error !== only) continue;
      const value = response.headers[name.toLowerCase()];
      expect(value, `${where}: header ${name}`).toBeDefined();
      const typed = header.schema.type === 'integer' ? Number(value) : value;
      expect(ajv.validate(header.schema, typed), `${where}: header ${name}: ${String(value)}`).toBe(true);
    }
  }

  return {
    /** Sends the request through inject and checks the answer; returns it for the test's own assertions. */
    async send(app: FastifyInstance, request: InjectOptions & { url: string }) {
      const response = await app.inject(request);
      check(request.method ?? 'GET', request.url, response);
      return response;
    },
    check,
    /** `operationId status` of every answer checked. */
    checked: () => new Set(checked),
  };
}
