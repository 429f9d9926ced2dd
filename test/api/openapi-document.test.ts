import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ERROR_CODES, httpStatusOf } from '../../src/api/errors.ts';
import type { ErrorCode } from '../../src/errors.ts';
import { API_TOKEN, startTestApi, type TestApi } from '../harness/api.ts';
import { documentOf, type OpenApiDocument, operations } from '../harness/openapi.ts';

const SOURCE = {
  name: 'hub',
  preset: 'generic',
  secret: 'generic-webhook-secret-0123456789',
  signature: { header: 'X-Hub-Signature-256', prefix: 'sha256=' },
  templates: { '*': { urls: ['https://www.example.com/{+page.path}'] } },
};
const USER = { username: 'ops', password: 'dashboard-password-123' };

/** Left out of the document on purpose (see the document's description and README, OpenAPI). */
const UNDOCUMENTED = [/^\/admin\//, /^\/docs(\/|$)/, /^\/openapi\.json$/];

/**
 * Every route the app serves, from Fastify's own route tree (`printRoutes`): each line is one segment under
 * its parent's path, indented four characters a level, with its methods.
 */
function servedRoutes(tree: string): Array<{ path: string; method: string }> {
  const parents: string[] = [];
  const routes: Array<{ path: string; method: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)[├└]── (.+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const [, indent = '', segment = '', methods = ''] = match;
    const depth = indent.length / 4;
    const path = (parents[depth - 1] ?? '') + segment;
    parents[depth] = path;
    for (const method of methods.split(', ')) if (method !== 'HEAD') routes.push({ path, method });
  }
  return routes;
}

/** `/v1/purges/:id` as the document writes it: `/v1/purges/{id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

describe('the OpenAPI document', () => {
  let api: TestApi;
  let document: OpenApiDocument;

  beforeAll(async () => {
    api = await startTestApi('http://127.0.0.1:9', {
      api: {
        tokens: [API_TOKEN],
        webhook: { secret: 'test-webhook-secret-0123456789' },
        sources: [SOURCE],
      },
      dashboard: { users: [USER] },
    });
    document = await documentOf(api.app);
  });
  afterAll(() => api.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('describes every route the app serves but the dashboard and the description itself', () => {
    const served = servedRoutes(api.app.printRoutes({ commonPrefix: false }));
    const documented = operations(document).map(({ path, method }) => `${method.toUpperCase()} ${path}`);
    const expected = served
      .filter(({ path }) => !UNDOCUMENTED.some((pattern) => pattern.test(path)))
      .map(({ path, method }) => `${method} ${openApiPath(path)}`);
    expect(documented.sort()).toEqual(expected.sort());
    // The tree was read: the API's routes and the left-out ones are all in it.
    expect(expected).toEqual(
      expect.arrayContaining(['POST /v1/purges', 'POST /v1/purges/{id}/replay', 'POST /v1/sources/hub']),
    );
    expect(served.map(({ path }) => path)).toEqual(
      expect.arrayContaining(['/admin/queues', '/admin/purges/:id/replay', '/docs', '/openapi.json']),
    );
  });

  it('names how each route is authenticated: a bearer token on /v1/purges, signatures on webhooks, none on operations', () => {
    const schemes = document.components.securitySchemes;
    expect(schemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(schemes.publishSignature).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Purge-Signature',
    });
    expect(schemes.publishTimestamp).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'X-Purge-Timestamp',
    });
    expect(schemes['source-hub']).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'x-hub-signature-256',
    });
    const security = Object.fromEntries(
      operations(document).map(({ path, method, operation }) => [`${method} ${path}`, operation.security]),
    );
    expect(security).toEqual({
      'post /v1/purges': [{ bearerAuth: [] }],
      'get /v1/purges': [{ bearerAuth: [] }],
      'get /v1/purges/{id}': [{ bearerAuth: [] }],
      'post /v1/purges/{id}/replay': [{ bearerAuth: [] }],
      'post /v1/events/publish': [{ publishSignature: [], publishTimestamp: [] }],
      'post /v1/sources/hub': [{ 'source-hub': [] }],
      'get /healthz': [],
      'get /readyz': [],
      'get /metrics': [],
    });
  });

  it('lists each error code under the status it is answered with, and every code an HTTP route answers', () => {
    const listed = new Set<string>();
    for (const { path, method, operation } of operations(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const error = response.content?.['application/json']?.schema?.properties as
          | { error?: { enum: ErrorCode[] } }
          | undefined;
        for (const code of error?.error?.enum ?? []) {
          expect(httpStatusOf(code), `${method} ${path}: ${code} under ${status}`).toBe(Number(status));
          listed.add(code);
        }
      }
      expect(Object.keys(operation.responses), `${method} ${path}`).toContain(
        path.startsWith('/v1/') ? '500' : '200',
      );
    }
    // Only the dashboard's routes, which the document leaves out, answer DASHBOARD_ACTION_FORBIDDEN.
    expect([...listed].sort()).toEqual(
      HTTP_ERROR_CODES.filter((code) => code !== 'DASHBOARD_ACTION_FORBIDDEN').sort(),
    );
  });

  it('gives an example of every answer, and each example is valid against its own schema', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(document as unknown as Record<string, unknown>, 'openapi.json');
    let count = 0;
    for (const { path, method, operation } of operations(document)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [media, content] of Object.entries(response.content ?? {})) {
          const examples = [
            ...(content.example === undefined ? [] : [content.example]),
            ...Object.values(content.examples ?? {}).map((example) => example.value),
          ];
          expect(examples.length, `${method} ${path} ${status} ${media} has no example`).toBeGreaterThan(0);
          const pointer = ['paths', path, method, 'responses', status, 'content', media, 'schema']
            .map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1'))
            .join('/');
          const validate = ajv.compile({ $ref: `openapi.json#/${pointer}` });
          for (const example of examples) {
            expect(validate(example) ? [] : validate.errors, `${method} ${path} ${status}`).toEqual([]);
            count += 1;
          }
        }
      }
    }
    expect(count).toBeGreaterThan(50);
  });

  it('is served without credentials, the same at /openapi.json as under /docs', async () => {
    const asJson = await api.app.inject({ url: '/openapi.json' });
    const asDocs = await api.app.inject({ url: '/docs/json' });
    expect(asJson.statusCode).toBe(200);
    expect(asJson.headers['content-type']).toMatch(/^application\/json/);
    expect(asDocs.json()).toEqual(asJson.json());
    const docs = await api.app.inject({ url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/html/);
  });

  it('holds no secret of the configuration', () => {
    const text = JSON.stringify(document);
    for (const secret of [API_TOKEN, 'test-webhook-secret-0123456789', SOURCE.secret, USER.password]) {
      expect(text).not.toContain(secret);
    }
  });
});
