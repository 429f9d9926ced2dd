import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceApi, startSourceApi } from '../harness/sources.ts';

/**
 * Contentful as it really calls: request verification as documented at
 * https://www.contentful.com/developers/docs/webhooks/request-verification/ (signRequest / verifyRequest of
 * @contentful/node-apps-toolkit): HMAC-SHA256, hex, over `METHOD\npath\nkey:value;...\nbody`, the signed
 * headers lower-cased and sorted, `x-contentful-timestamp` (unix ms) and `x-contentful-signed-headers`
 * among them. Headers as in https://www.contentful.com/developers/docs/webhooks/headers/, the event id in
 * X-Contentful-Idempotency-Key
 * (https://www.contentful.com/developers/changelog/idempotency-key-headers-for-webhook-requests/), the body
 * the entry's JSON as the Content Management API shows it.
 */
const SECRET = 'qlfkupAwYA4ZkNnmBzmNypFqSRWOwhpGRFwQFn5iPNAGHSYdvwed1C77n0Eiaz19';
const PATH = '/v1/sources/contentful';

function signContentful(
  secret: string,
  request: { method: string; path: string; headers: Record<string, string>; body: string },
  timestamp: number,
): Record<string, string> {
  const signed: Record<string, string> = { ...request.headers, 'x-contentful-timestamp': String(timestamp) };
  const names = [...Object.keys(signed), 'x-contentful-signed-headers'].sort();
  signed['x-contentful-signed-headers'] = names.join(',');
  const canonical = [
    request.method,
    request.path,
    names.map((name) => `${name}:${signed[name]}`).join(';'),
    request.body,
  ].join('\n');
  return {
    ...signed,
    'x-contentful-signature': createHmac('sha256', secret).update(canonical).digest('hex'),
  };
}

function entry(id: string, fields: Record<string, unknown>, contentType = 'article') {
  return {
    metadata: { tags: [] },
    sys: {
      type: 'Entry',
      id,
      space: { sys: { type: 'Link', linkType: 'Space', id: 'yadj1kx9rmg0' } },
      environment: { sys: { id: 'master', type: 'Link', linkType: 'Environment' } },
      contentType: { sys: { type: 'Link', linkType: 'ContentType', id: contentType } },
      createdAt: '2026-03-02T09:14:07.012Z',
      updatedAt: '2026-03-02T10:40:51.880Z',
      createdBy: { sys: { type: 'Link', linkType: 'User', id: '7BslKh9TdKGOK41VmLDjFZ' } },
      updatedBy: { sys: { type: 'Link', linkType: 'User', id: '4FLrUHftHW3v2BLi9fzfjU' } },
      revision: 4,
      version: 9,
      publishedVersion: 8,
    },
    fields,
  };
}

/** A delivery as Contentful sends it: its own media type and headers, signed, `timestamp` in unix ms. */
function delivery(
  body: unknown,
  options: { topic?: string; eventId?: string; timestamp?: number; secret?: string },
) {
  const raw = JSON.stringify(body);
  const headers = signContentful(
    options.secret ?? SECRET,
    {
      method: 'POST',
      path: PATH,
      headers: {
        'x-contentful-topic': options.topic ?? 'ContentManagement.Entry.publish',
        'x-contentful-webhook-name': 'Purge the CDN',
        'x-contentful-idempotency-key':
          options.eventId ?? createHmac('sha256', 'id').update(raw).digest('hex'),
        'x-contentful-crn': 'crn:contentful:::content:spaces/yadj1kx9rmg0/environments/master',
      },
      body: raw,
    },
    options.timestamp ?? Date.now(),
  );
  return { raw, headers: { 'content-type': 'application/vnd.contentful.management.v1+json', ...headers } };
}

describe('POST /v1/sources/<name> with the contentful preset', () => {
  let api: SourceApi;

  beforeAll(async () => {
    api = await startSourceApi([
      {
        name: 'contentful',
        preset: 'contentful',
        secret: SECRET,
        priority: 'urgent',
        templates: {
          article: {
            urls: ['https://www.example.com/news/{fields.slug.en-US}', 'https://www.example.com/news/'],
            dirs: ['https://www.example.com/topics/{fields.topic.en-US}/'],
          },
        },
      },
    ]);
  });
  afterAll(() => api.close());

  it('purges the URLs an entry.publish event maps to, in the lane the source names', async () => {
    const { raw, headers } = delivery(
      entry('5KsDBWseXY6QegucYAoacS', {
        title: { 'en-US': 'Bacon is healthy!' },
        slug: { 'en-US': 'bacon is healthy' },
        topic: { 'en-US': 'food' },
      }),
      { eventId: 'f1b2c3' },
    );
    const response = await api.deliver('contentful', raw, headers);
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string }>();
    expect(body).toMatchObject({ cdns: ['vims-main'], eventId: 'f1b2c3' });
    expect(await api.planOf(body.id)).toEqual({
      'vims-main': {
        urls: ['https://www.example.com/news/bacon%20is%20healthy', 'https://www.example.com/news/'],
        dirs: ['https://www.example.com/topics/food/'],
      },
    });
    expect((await api.service.runtime.store.get(body.id))?.priority).toBe('urgent');
  });

  it('answers a redelivered event with the first purge, marked duplicate, writing nothing', async () => {
    const event = entry('1Tsb2b6Fe3N0oVpWc0uE1u', {
      slug: { 'en-US': 'redelivered' },
      topic: { 'en-US': 'x' },
    });
    const first = await api.deliver('contentful', ...args(delivery(event, { eventId: 'evt-dup' })));
    expect(first.statusCode).toBe(202);
    const keys = await api.keys();
    // A redelivery comes signed anew (the toolkit's 30 s TTL refuses old signatures), under the same key.
    const again = await api.deliver(
      'contentful',
      ...args(delivery(event, { eventId: 'evt-dup', timestamp: Date.now() + 1 })),
    );
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ id: first.json<{ id: string }>().id, duplicate: true });
    expect(await api.keys()).toEqual(keys);
  });

  it.each([
    ['signed with another secret', { secret: 'x'.repeat(64) }, /does not match/],
    [
      'signed more than 30 s ago (the toolkit’s TTL)',
      { timestamp: Date.now() - 31_000 },
      /more than 30s away/,
    ],
  ])('refuses a delivery %s with 401, writing nothing', async (_name, options, reason) => {
    const before = await api.keys();
    const event = entry('2', { slug: { 'en-US': 'a' }, topic: { 'en-US': 'b' } });
    const response = await api.deliver('contentful', ...args(delivery(event, options)));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      error: 'SIGNATURE_INVALID',
      message: expect.stringMatching(reason),
    });
    expect(await api.keys()).toEqual(before);
  });

  it('refuses a delivery whose signed topic header was changed after signing', async () => {
    const { raw, headers } = delivery(entry('3', { slug: { 'en-US': 'a' }, topic: { 'en-US': 'b' } }), {});
    const response = await api.deliver('contentful', raw, {
      ...headers,
      'x-contentful-topic': 'ContentManagement.Entry.unpublish',
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'SIGNATURE_INVALID' });
  });

  it('ignores an unpublish (its DeletedEntry has no fields), answering 202 with the reason', async () => {
    const deleted = {
      sys: { ...entry('4', {}).sys, type: 'DeletedEntry', deletedAt: '2026-03-02T11:00:00.000Z' },
    };
    const before = await api.keys();
    const response = await api.deliver(
      'contentful',
      ...args(delivery(deleted, { topic: 'ContentManagement.Entry.unpublish' })),
    );
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      ignored: true,
      reason: 'event "unpublish" is not one this source purges on (events: publish)',
    });
    expect(await api.keys()).toEqual(before);
  });

  it('ignores a content type it has no template for', async () => {
    const response = await api.deliver(
      'contentful',
      ...args(delivery(entry('5', { name: { 'en-US': 'Ada' } }, 'author'), {})),
    );
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ ignored: true, reason: 'no template for content type "author"' });
  });

  it('answers 422 TEMPLATE_FIELD_MISSING naming the field an entry lacks, writing nothing', async () => {
    const before = await api.keys();
    const response = await api.deliver(
      'contentful',
      ...args(delivery(entry('6', { slug: { 'en-US': 'has-a-slug' } }), {})),
    );
    expect(response.statusCode).toBe(422);
    expect(response.json()).toEqual({
      error: 'TEMPLATE_FIELD_MISSING',
      message:
        'template https://www.example.com/topics/{fields.topic.en-US}/ (content type "article") names field "fields.topic.en-US", which the event does not have (or is empty)',
    });
    expect(await api.keys()).toEqual(before);
  });
});

function args(request: { raw: string; headers: Record<string, string> }): [string, Record<string, string>] {
  return [request.raw, request.headers];
}
