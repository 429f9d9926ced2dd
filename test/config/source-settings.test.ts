import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { PurgeError } from '../../src/errors.ts';
import { VIMS_ENTRY } from './fixtures.ts';

const secret = 'a-secret-of-16-chars-or-more';
const contentfulSecret = 'c'.repeat(64);
const templates = { article: { urls: ['https://www.example.com/news/{fields.slug.en-US}'] } };

const withSources = (sources: unknown[]) => ({ cdns: [VIMS_ENTRY], api: { sources } });

function linesOf(input: unknown): string[] {
  try {
    parseConfig(input, {});
  } catch (error) {
    if (error instanceof PurgeError && error.code === 'CONFIG_INVALID') return error.message.split('\n');
    throw error;
  }
  throw new Error('expected the config to be refused');
}

const refusal = (source: Record<string, unknown>) => linesOf(withSources([source]));

describe('api.sources', () => {
  it('fill each preset with its defaults', () => {
    const config = parseConfig(
      withSources([
        { name: 'contentful', preset: 'contentful', secret: contentfulSecret, templates },
        { name: 'sanity', preset: 'sanity', secret, templates },
        { name: 'storyblok', preset: 'storyblok', secret, templates },
        { name: 'hooks', preset: 'generic', secret, templates, signature: { header: 'X-Hub-Signature' } },
      ]),
      {},
    );
    const [contentful, sanity, storyblok, generic] = config.api.sources;
    expect(contentful).toMatchObject({ toleranceSeconds: 30 });
    expect(sanity).toMatchObject({ toleranceSeconds: 300 });
    expect(storyblok).not.toHaveProperty('toleranceSeconds');
    expect(generic).toMatchObject({
      signature: { header: 'x-hub-signature', algorithm: 'sha256', encoding: 'hex', prefix: '' },
    });
    expect(config.api.sources[0]?.templates.article).toEqual({
      urls: ['https://www.example.com/news/{fields.slug.en-US}'],
      dirs: [],
    });
    expect(parseConfig({ cdns: [VIMS_ENTRY] }, {}).api.sources).toEqual([]);
  });

  it('fill a generic timestamp with its defaults', () => {
    const config = parseConfig(
      withSources([
        {
          name: 'hooks',
          preset: 'generic',
          secret,
          templates,
          signature: { header: 'x-sig', timestamp: { header: 'x-ts' } },
        },
      ]),
      {},
    );
    expect(config.api.sources[0]).toMatchObject({
      signature: {
        timestamp: {
          header: 'x-ts',
          unit: 'seconds',
          toleranceSeconds: 300,
          signedPayload: '{timestamp}.{body}',
        },
      },
    });
  });

  it.each([
    [
      'a name that cannot be a path segment',
      { name: 'My CMS', preset: 'sanity', secret, templates },
      'api.sources[0].name: must be 1-63 chars of a-z, 0-9, _ or -',
    ],
    [
      'a Contentful secret of the wrong length',
      { name: 'c', preset: 'contentful', secret, templates },
      "api.sources[0].secret: must be Contentful's signing secret: exactly 64 characters",
    ],
    [
      'a short secret',
      { name: 's', preset: 'sanity', secret: 'short', templates },
      'api.sources[0].secret: must be at least 16 characters',
    ],
    [
      'an unknown preset',
      { name: 's', preset: 'strapi', secret, templates },
      "api.sources[0].preset: Invalid discriminator value. Expected 'contentful' | 'sanity' | 'storyblok' | 'generic'",
    ],
    [
      'a field in the host of a template',
      { name: 's', preset: 'sanity', secret, templates: { post: { urls: ['https://{host}/x'] } } },
      'api.sources[0].templates.post.urls[0]: may hold fields only in its path, query or fragment',
    ],
    [
      'an unclosed brace in a template',
      {
        name: 's',
        preset: 'sanity',
        secret,
        templates: { post: { dirs: ['https://www.example.com/{slug'] } },
      },
      'api.sources[0].templates.post.dirs[0]: has a "{" that is never closed (at 24)',
    ],
    [
      'a content type with no template',
      { name: 's', preset: 'sanity', secret, templates: { post: {} } },
      'api.sources[0].templates.post: needs at least one template in urls or dirs',
    ],
    [
      'no content type at all',
      { name: 's', preset: 'sanity', secret, templates: {} },
      'api.sources[0].templates: needs at least one content type (or "*")',
    ],
    [
      'an unknown lane',
      { name: 's', preset: 'sanity', secret, templates, priority: 'asap' },
      'api.sources[0].priority:',
    ],
    [
      'a negative tolerance',
      { name: 's', preset: 'sanity', secret, templates, toleranceSeconds: -1 },
      'api.sources[0].toleranceSeconds:',
    ],
    [
      'a tolerance on a preset whose scheme has no timestamp',
      { name: 's', preset: 'storyblok', secret, templates, toleranceSeconds: 60 },
      'api.sources[0].toleranceSeconds: unknown key',
    ],
    [
      'a typo',
      { name: 's', preset: 'sanity', secret, templats: templates },
      'api.sources[0].templats: unknown key (did you mean "templates"?)',
    ],
  ])('refuse %s, naming the field', (_name, source, line) => {
    expect(refusal(source).some((text) => text.startsWith(`  - ${line}`))).toBe(true);
  });

  const generic = (overrides: Record<string, unknown>) => ({
    name: 'g',
    preset: 'generic',
    secret,
    templates,
    signature: { header: 'x-sig' },
    ...overrides,
  });

  it.each([
    ['no signature header', generic({ signature: {} }), 'api.sources[0].signature.header: is required'],
    [
      'a header name with a space',
      generic({ signature: { header: 'x sig' } }),
      'api.sources[0].signature.header: must be an HTTP header name',
    ],
    [
      'an algorithm it does not offer',
      generic({ signature: { header: 'x-sig', algorithm: 'md5' } }),
      'api.sources[0].signature.algorithm:',
    ],
    [
      'an encoding it does not offer',
      generic({ signature: { header: 'x-sig', encoding: 'base32' } }),
      'api.sources[0].signature.encoding:',
    ],
    [
      'a signed payload without the body',
      generic({
        signature: { header: 'x-sig', timestamp: { header: 'x-ts', signedPayload: '{timestamp}' } },
      }),
      'api.sources[0].signature.timestamp.signedPayload: must hold {timestamp} and {body} once each',
    ],
    [
      'a locator with both a header and a field',
      generic({ eventId: { header: 'x-id', field: 'id' } }),
      'api.sources[0].eventId: give exactly one of header or field',
    ],
    [
      'a locator field that is not a path',
      generic({ contentType: { field: 'a..b' } }),
      'api.sources[0].contentType.field: must be a field path',
    ],
  ])('refuse a generic source with %s, naming the field', (_name, source, line) => {
    expect(refusal(source).some((text) => text.startsWith(`  - ${line}`))).toBe(true);
  });

  it('refuse two sources of one name, and a CDN id that is not configured', () => {
    const lines = linesOf(
      withSources([
        { name: 'cms', preset: 'sanity', secret, templates },
        { name: 'cms', preset: 'storyblok', secret, templates, cdns: ['vims-main', 'nope'] },
      ]),
    );
    expect(lines).toContain('  - api.sources[1].name: duplicate source name "cms"');
    expect(lines).toContain('  - api.sources[1].cdns[1]: unknown CDN id "nope"');
  });
});
