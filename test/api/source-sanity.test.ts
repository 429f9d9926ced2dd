import { createHmac, randomUUID } from 'node:crypto';
import { encodeSignatureHeader } from '@sanity/webhook';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceApi, startSourceApi } from '../harness/sources.ts';

/**
 * Sanity's GROQ-powered webhooks (https://www.sanity.io/docs/webhooks) as they really arrive: the
 * `sanity-webhook-signature` header is `t=<unix ms>,v1=<signature>`, the signature an HMAC-SHA256 of
 * `<t>.<raw body>` in unpadded base64url, which is how the official toolkit signs and checks it
 * (https://github.com/sanity-io/webhook-toolkit, `encodeSignatureHeader`; one test signs with it). The
 * body is the document (a webhook without a projection), with `idempotency-key`, `sanity-operation` and the
 * other `sanity-*` headers beside it.
 */
const SECRET = 'sanity-webhook-secret-0123456789';

function sanitySignature(secret: string, timestamp: number, raw: string): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('base64url');
  return `t=${timestamp},v1=${signature}`;
}

function post(slug: string | undefined) {
  return {
    _createdAt: '2026-03-01T08:00:00Z',
    _id: randomUUID(),
    _rev: 'Kx7pW2cZ1bGm3hQ9aB4dEf',
    _type: 'post',
    _updatedAt: '2026-03-02T10:40:51Z',
    title: 'Hello world',
    ...(slug === undefined ? {} : { slug: { _type: 'slug', current: slug } }),
  };
}

interface Delivery {
  operation?: string;
  idempotencyKey?: string;
  signature?: (raw: string) => string;
}

function delivery(document: ReturnType<typeof post>, options: Delivery = {}) {
  const raw = JSON.stringify(document);
  return [
    raw,
    {
      'content-type': 'application/json',
      'idempotency-key': options.idempotencyKey ?? randomUUID(),
      'sanity-operation': options.operation ?? 'update',
      'sanity-document-id': document._id,
      'sanity-project-id': '3do82whm',
      'sanity-dataset': 'production',
      'sanity-transaction-id': 'tx-7d3f0e',
      'sanity-transaction-time': '2026-03-02T10:40:51.102Z',
      'sanity-webhook-id': 'VpxhXwNb3bgKj2Mv',
      'sanity-webhook-signature': (
        options.signature ?? ((text) => sanitySignature(SECRET, Date.now(), text))
      )(raw),
    },
  ] as const;
}

describe('POST /v1/sources/<name> with the sanity preset', () => {
  let api: SourceApi;
  const blog = {
    post: { urls: ['https://www.example.com/blog/{slug.current}', 'https://www.example.com/blog/'] },
  };

  beforeAll(async () => {
    api = await startSourceApi([
      { name: 'sanity', preset: 'sanity', secret: SECRET, templates: blog },
      { name: 'sanity-staging', preset: 'sanity', secret: SECRET, priority: 'bulk', templates: blog },
    ]);
  });
  afterAll(() => api.close());

  it('purges what an update maps to', async () => {
    const response = await api.deliver('sanity', ...delivery(post('hello-world')));
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string }>();
    expect(await api.planOf(body.id)).toEqual({
      'vims-main': {
        urls: ['https://www.example.com/blog/hello-world', 'https://www.example.com/blog/'],
        dirs: [],
      },
    });
    expect((await api.service.runtime.store.get(body.id))?.priority).toBe('normal');
  });

  it('accepts a signature made by the official @sanity/webhook toolkit', async () => {
    const document = post('signed-by-the-toolkit');
    const header = await encodeSignatureHeader(JSON.stringify(document), Date.now(), SECRET);
    const response = await api.deliver('sanity', ...delivery(document, { signature: () => header }));
    expect(response.statusCode).toBe(202);
  });

  it('purges on delete too: the page must stop being served from cache', async () => {
    const response = await api.deliver('sanity', ...delivery(post('gone'), { operation: 'delete' }));
    expect(response.statusCode).toBe(202);
    expect(await api.planOf(response.json<{ id: string }>().id)).toMatchObject({
      'vims-main': { urls: ['https://www.example.com/blog/gone', 'https://www.example.com/blog/'] },
    });
  });

  it('answers a captured delivery sent again under a new idempotency-key (not signed) with its first purge', async () => {
    const [raw, headers] = delivery(post('captured'), { idempotencyKey: 'original-id' });
    const first = await api.deliver('sanity', raw, headers);
    const replayed = await api.deliver('sanity', raw, { ...headers, 'idempotency-key': 'forged-new-id' });

    expect(first.statusCode).toBe(202);
    expect(replayed.statusCode).toBe(202);
    expect(replayed.json()).toMatchObject({ id: first.json<{ id: string }>().id, duplicate: true });
    // A new delivery of the same document (Sanity signs each one anew) is a purge of its own.
    const resigned = (text: string) => sanitySignature(SECRET, Date.now() + 1_000, text);
    const again = await api.deliver(
      'sanity',
      ...delivery(post('captured'), { idempotencyKey: 'another-id', signature: resigned }),
    );
    expect(again.json<{ id: string }>().id).not.toBe(first.json<{ id: string }>().id);
  });

  it('maps a retried delivery (same idempotency-key) to the first purge, and keeps sources apart', async () => {
    const document = post('retried');
    const first = await api.deliver('sanity', ...delivery(document, { idempotencyKey: 'delivery-1' }));
    const retried = await api.deliver('sanity', ...delivery(document, { idempotencyKey: 'delivery-1' }));
    expect(retried.json()).toMatchObject({ id: first.json<{ id: string }>().id, duplicate: true });
    // The same key at another source is another source's event: its own namespace, its own lane.
    const staging = await api.deliver(
      'sanity-staging',
      ...delivery(document, { idempotencyKey: 'delivery-1' }),
    );
    expect(staging.statusCode).toBe(202);
    const stagingId = staging.json<{ id: string; duplicate?: boolean }>();
    expect(stagingId.id).not.toBe(first.json<{ id: string }>().id);
    expect(stagingId.duplicate).toBeUndefined();
    expect((await api.service.runtime.store.get(stagingId.id))?.priority).toBe('bulk');
  });

  it.each([
    [
      'signed with another secret',
      (raw: string) => sanitySignature('another-secret-0123456789', Date.now(), raw),
      /does not match/,
    ],
    [
      'signed 301 s ago',
      (raw: string) => sanitySignature(SECRET, Date.now() - 301_000, raw),
      /more than 300s away/,
    ],
    [
      'a header spaced as the toolkit never sends it',
      (raw: string) => sanitySignature(SECRET, Date.now(), raw).replace(',', ', '),
      /malformed sanity-webhook-signature/,
    ],
    [
      'a timestamp in seconds',
      (raw: string) => sanitySignature(SECRET, Math.floor(Date.now() / 1000), raw),
      /not in unix milliseconds/,
    ],
    ['no signature', () => '', /missing or malformed/],
  ])('refuses %s with 401, writing nothing', async (_name, signature, reason) => {
    const before = await api.keys();
    const response = await api.deliver('sanity', ...delivery(post('refused'), { signature }));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: 'SIGNATURE_INVALID',
      message: expect.stringMatching(reason),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('answers 422 naming slug.current for a post without a slug', async () => {
    const response = await api.deliver('sanity', ...delivery(post(undefined)));
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      error: 'TEMPLATE_FIELD_MISSING',
      message: expect.stringContaining('names field "slug.current"'),
    });
  });
});
