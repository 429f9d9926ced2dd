import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceApi, startSourceApi } from '../harness/sources.ts';

/**
 * Storyblok as it really calls: `webhook-signature` is the hex HMAC-SHA1 of the raw body with the webhook
 * secret (https://www.storyblok.com/tp/webhook-secret-with-different-technologies); the payloads are the
 * documented ones (https://www.storyblok.com/docs/concepts/webhooks): `text`, `action`, `space_id`, and
 * for a story `story_id` and, when published, `full_slug`.
 */
const SECRET = 'storyblok-webhook-secret-0123456789';
const SPACE = 288868932106293;

const signed = (raw: string, secret = SECRET) => ({
  'content-type': 'application/json',
  'webhook-signature': createHmac('sha1', secret).update(raw).digest('hex'),
});

function storyEvent(action: string, storyId: number, fullSlug?: string) {
  return JSON.stringify({
    text: `The user editor@example.com ${action} the Story Story ${storyId} (${fullSlug ?? storyId})\nhttps://app.storyblok.com/#/me/spaces/${SPACE}/stories/0/0/${storyId}`,
    action,
    space_id: SPACE,
    story_id: storyId,
    ...(fullSlug === undefined ? {} : { full_slug: fullSlug }),
  });
}

describe('POST /v1/sources/<name> with the storyblok preset', () => {
  let api: SourceApi;
  const templates = { story: { urls: ['https://www.example.com/{+full_slug}', 'https://www.example.com/'] } };

  beforeAll(async () => {
    api = await startSourceApi([
      { name: 'storyblok', preset: 'storyblok', secret: SECRET, templates },
      {
        name: 'storyblok-all',
        preset: 'storyblok',
        secret: SECRET,
        events: ['published', 'unpublished'],
        templates,
      },
    ]);
  });
  afterAll(() => api.close());

  it('purges a published story at its full slug, keeping the folders of the slug', async () => {
    const raw = storyEvent('published', 369689, 'news/bacon is healthy');
    const response = await api.deliver('storyblok', raw, signed(raw));
    expect(response.statusCode).toBe(202);
    const body = response.json<{ id: string; eventId?: string }>();
    expect(body.eventId).toBeUndefined();
    expect(await api.planOf(body.id)).toEqual({
      'vims-main': {
        urls: ['https://www.example.com/news/bacon%20is%20healthy', 'https://www.example.com/'],
        dirs: [],
      },
    });
  });

  it('purges a redelivery again: Storyblok sends no event id to know it by', async () => {
    const raw = storyEvent('published', 369690, 'news/again');
    const first = await api.deliver('storyblok', raw, signed(raw));
    const second = await api.deliver('storyblok', raw, signed(raw));
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    expect(second.json<{ id: string }>().id).not.toBe(first.json<{ id: string }>().id);
    expect(second.json()).not.toHaveProperty('duplicate');
  });

  it.each([
    ['signed with another secret', (raw: string) => signed(raw, 'another-secret-0123456789')],
    ['altered after signing', (raw: string) => signed(raw.replace('news', 'blog'))],
    ['unsigned', () => ({ 'content-type': 'application/json' })],
  ])('refuses a delivery %s with 401, writing nothing', async (_name, headersFor) => {
    const raw = storyEvent('published', 1, 'news/refused');
    const before = await api.keys();
    const response = await api.deliver('storyblok', raw, headersFor(raw));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ error: 'SIGNATURE_INVALID' });
    expect(await api.keys()).toEqual(before);
  });

  it('ignores an unpublished story by default, and an asset event it has no template for', async () => {
    const unpublished = storyEvent('unpublished', 2);
    expect((await api.deliver('storyblok', unpublished, signed(unpublished))).json()).toEqual({
      ignored: true,
      reason: 'event "unpublished" is not one this source purges on (events: published)',
    });
    const asset = JSON.stringify({
      text: 'The user editor@example.com created the Asset photo.jpg',
      action: 'created',
      space_id: SPACE,
      asset_id: 77,
    });
    const response = await api.deliver('storyblok-all', asset, signed(asset));
    expect(response.json()).toEqual({
      ignored: true,
      reason: 'event "created" is not one this source purges on (events: published, unpublished)',
    });
  });

  it('names full_slug when an unpublished story (which has none) meets a template that needs it', async () => {
    const raw = storyEvent('unpublished', 3);
    const response = await api.deliver('storyblok-all', raw, signed(raw));
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({
      error: 'TEMPLATE_FIELD_MISSING',
      message: expect.stringContaining('(content type "story") names field "full_slug"'),
    });
  });
});
