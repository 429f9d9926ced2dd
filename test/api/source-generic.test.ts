import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceApi, startSourceApi } from '../harness/sources.ts';

const SECRET = 'generic-webhook-secret-0123456789';
const hmac = (algorithm: string, text: string, encoding: 'hex' | 'base64', secret = SECRET) =>
  createHmac(algorithm, secret).update(text).digest(encoding);
const now = () => Math.floor(Date.now() / 1000);

/** The generic preset: the signing scheme, and where the event keeps its id, name and type, configured. */
describe('POST /v1/sources/<name> with the generic preset', () => {
  let api: SourceApi;
  let base: string;

  beforeAll(async () => {
    api = await startSourceApi(
      [
        {
          // Body-only, `sha256=<hex>` (the GitHub style).
          name: 'hub',
          preset: 'generic',
          secret: SECRET,
          signature: { header: 'X-Hub-Signature-256', prefix: 'sha256=' },
          eventId: { header: 'x-delivery' },
          event: { field: 'event' },
          contentType: { field: 'page.kind' },
          events: ['published'],
          templates: { article: { urls: ['https://www.example.com/{+page.path}'] } },
        },
        {
          // HMAC-SHA1 in base64 over `<unix seconds>.<body>`.
          name: 'stamped',
          preset: 'generic',
          secret: SECRET,
          signature: {
            header: 'x-signature',
            algorithm: 'sha1',
            encoding: 'base64',
            timestamp: { header: 'x-timestamp', toleranceSeconds: 60 },
          },
          eventId: { field: 'id' },
          templates: { '*': { urls: ['https://www.example.com/items/{id}'] } },
        },
        {
          // HMAC-SHA256 in hex over `<body><unix ms>`.
          name: 'trailing',
          preset: 'generic',
          secret: SECRET,
          signature: {
            header: 'x-signature',
            timestamp: { header: 'x-sent-at', unit: 'milliseconds', signedPayload: '{body}{timestamp}' },
          },
          templates: { '*': { dirs: ['https://www.example.com/{section}/'] } },
        },
      ],
      { bodyLimitBytes: 4096, drainLimitBytes: 1024 * 1024 },
    );
    await api.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => api.close());

  const hubEvent = (delivery: string, body: unknown) => {
    const raw = JSON.stringify(body);
    return [
      raw,
      {
        'content-type': 'application/json',
        'x-delivery': delivery,
        'x-hub-signature-256': `sha256=${hmac('sha256', raw, 'hex')}`,
      },
    ] as const;
  };
  const article = { event: 'published', page: { kind: 'article', path: 'news/2026/launch' } };

  it('verifies a body-only signature with a prefix and purges, once per delivery id', async () => {
    const first = await api.deliver('hub', ...hubEvent('d-1', article));
    expect(first.statusCode).toBe(202);
    const body = first.json<{ id: string }>();
    expect(body).toMatchObject({ eventId: 'd-1', urls: ['https://www.example.com/news/2026/launch'] });
    expect(await api.planOf(body.id)).toEqual({
      'vims-main': { urls: ['https://www.example.com/news/2026/launch'], dirs: [] },
    });
    const keys = await api.keys();
    const again = await api.deliver('hub', ...hubEvent('d-1', article));
    expect(again.json()).toMatchObject({ id: body.id, duplicate: true });
    expect(await api.keys()).toEqual(keys);
  });

  it('reads the event name and content type from the fields it is told, ignoring the others', async () => {
    const draft = await api.deliver('hub', ...hubEvent('d-2', { ...article, event: 'draft_saved' }));
    expect(draft.json()).toMatchObject({ ignored: true, reason: expect.stringContaining('"draft_saved"') });
    const author = await api.deliver('hub', ...hubEvent('d-3', { ...article, page: { kind: 'author' } }));
    expect(author.json()).toMatchObject({ ignored: true, reason: 'no template for content type "author"' });
  });

  it('refuses a signature without its prefix, or by another secret', async () => {
    const [raw, headers] = hubEvent('d-4', article);
    const bare = await api.deliver('hub', raw, {
      ...headers,
      'x-hub-signature-256': hmac('sha256', raw, 'hex'),
    });
    expect(bare.json()).toMatchObject({
      error: 'SIGNATURE_INVALID',
      message: expect.stringContaining('"sha256="'),
    });
    const other = `sha256=${hmac('sha256', raw, 'hex', 'another-secret-0123456789')}`;
    const forged = await api.deliver('hub', raw, { ...headers, 'x-hub-signature-256': other });
    expect(forged.statusCode).toBe(401);
  });

  const stamped = (body: unknown, timestamp: number | string = now()) => {
    const raw = JSON.stringify(body);
    return [
      raw,
      {
        'content-type': 'application/json',
        'x-timestamp': String(timestamp),
        'x-signature': hmac('sha1', `${timestamp}.${raw}`, 'base64'),
      },
    ] as const;
  };

  it('verifies a SHA-1 base64 signature over `<timestamp>.<body>`, the id read from the body', async () => {
    const response = await api.deliver('stamped', ...stamped({ id: 'item 7' }));
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      eventId: 'item 7',
      urls: ['https://www.example.com/items/item%207'],
    });
  });

  it.each([
    ['a stale timestamp', () => stamped({ id: 'x' }, now() - 61), /more than 60s away/],
    [
      'a timestamp changed after signing',
      () => {
        const [raw, headers] = stamped({ id: 'x' });
        return [raw, { ...headers, 'x-timestamp': String(now() + 1) }] as const;
      },
      /does not match/,
    ],
    ['a timestamp that is not digits', () => stamped({ id: 'x' }, '1e9'), /malformed x-timestamp/],
  ])('refuses %s with 401', async (_name, build, reason) => {
    const response = await api.deliver('stamped', ...build());
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: 'SIGNATURE_INVALID',
      message: expect.stringMatching(reason),
    });
  });

  it('verifies `<body><unix ms>` and purges dirs, with no event id: every delivery its own purge', async () => {
    const raw = JSON.stringify({ section: 'sport' });
    const sentAt = String(Date.now());
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      'x-sent-at': sentAt,
      'x-signature': hmac('sha256', `${raw}${sentAt}`, 'hex'),
    };
    const response = await api.deliver('trailing', raw, headers);
    expect(response.statusCode).toBe(202);
    expect(await api.planOf(response.json<{ id: string }>().id)).toEqual({
      'vims-main': { urls: [], dirs: ['https://www.example.com/sport/'] },
    });
    const seconds = { ...headers, 'x-sent-at': String(Math.floor(Date.now() / 1000)) };
    expect((await api.deliver('trailing', raw, seconds)).json()).toMatchObject({
      error: 'SIGNATURE_INVALID',
    });
  });

  describe('over a real socket', () => {
    const post = async (path: string, body: string | null, headers: Record<string, string>) => {
      const response = await request(`${base}${path}`, { method: 'POST', headers, body });
      return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
    };

    it('answers an oversize body with 413 before verifying it', async () => {
      const raw = JSON.stringify({ ...article, padding: 'x'.repeat(8192) });
      const [, headers] = hubEvent('d-5', JSON.parse(raw));
      const response = await post('/v1/sources/hub', raw, headers);
      expect(response).toMatchObject({ status: 413, body: { error: 'PAYLOAD_TOO_LARGE' } });
    });

    it('refuses a bodiless request with 401, and a body that is not JSON with 415', async () => {
      expect(await post('/v1/sources/hub', null, {})).toMatchObject({
        status: 401,
        body: { error: 'SIGNATURE_INVALID' },
      });
      const [raw, headers] = hubEvent('d-6', article);
      expect(await post('/v1/sources/hub', raw, { ...headers, 'content-type': 'text/plain' })).toMatchObject({
        status: 415,
        body: { error: 'UNSUPPORTED_MEDIA_TYPE' },
      });
    });

    it('checks the signature before the JSON: signed garbage is a 400, unsigned garbage a 401', async () => {
      const garbage = '{"event": "published", ';
      const signedGarbage = {
        'content-type': 'application/json',
        'x-hub-signature-256': `sha256=${hmac('sha256', garbage, 'hex')}`,
      };
      expect(await post('/v1/sources/hub', garbage, signedGarbage)).toMatchObject({
        status: 400,
        body: { error: 'INVALID_JSON' },
      });
      expect(await post('/v1/sources/hub', garbage, { 'content-type': 'application/json' })).toMatchObject({
        status: 401,
      });
    });

    it('answers 404 for a source that is not configured', async () => {
      const [raw, headers] = hubEvent('d-7', article);
      expect(await post('/v1/sources/nope', raw, headers)).toMatchObject({
        status: 404,
        body: { error: 'NOT_FOUND' },
      });
    });
  });
});
