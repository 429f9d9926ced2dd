import { describe, expect, it } from 'vitest';
import { expandTemplate, parseUrlTemplate, type UrlTemplate } from '../../src/sources/url-template.ts';

function template(source: string): UrlTemplate {
  const parsed = parseUrlTemplate(source);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.template;
}

const expand = (source: string, document: unknown) => expandTemplate(template(source), document);

describe('URL templates', () => {
  it('fill fields read by a dotted path, each value percent-encoded as one component', () => {
    const entry = { fields: { slug: { 'en-US': 'café crème/2?x=1#top' } }, sys: { id: 'abc' } };
    expect(expand('https://www.example.com/news/{fields.slug.en-US}?id={sys.id}', entry)).toEqual({
      ok: true,
      url: 'https://www.example.com/news/caf%C3%A9%20cr%C3%A8me%2F2%3Fx%3D1%23top?id=abc',
    });
  });

  it('keep the slashes of a {+path} field, encoding each segment', () => {
    expect(expand('https://www.example.com/{+full_slug}', { full_slug: 'news/été 2026/' })).toEqual({
      ok: true,
      url: 'https://www.example.com/news/%C3%A9t%C3%A9%202026/',
    });
  });

  it('read numbers and array elements, and leave a template without fields as it is', () => {
    expect(expand('https://www.example.com/p/{id}/{tags.1}', { id: 42, tags: ['a', 'b'] })).toEqual({
      ok: true,
      url: 'https://www.example.com/p/42/b',
    });
    expect(expand('https://www.example.com/news/', {})).toEqual({
      ok: true,
      url: 'https://www.example.com/news/',
    });
  });

  it.each([
    ['absent', {}, 'missing'],
    ['empty', { slug: '' }, 'missing'],
    ['null', { slug: null }, 'missing'],
    ['an object', { slug: { current: 'x' } }, 'not-text'],
    ['a boolean', { slug: true }, 'not-text'],
    ['a lone surrogate', { slug: '\ud800' }, 'malformed-text'],
    ['a dot-dot segment', { slug: '..' }, 'dot-segment'],
  ])('name the field when its value is %s', (_name, document, problem) => {
    expect(expand('https://www.example.com/news/{slug}', document)).toEqual({
      ok: false,
      field: 'slug',
      problem,
    });
  });

  it('refuse a ".." segment inside a {+path} value, and read only own properties', () => {
    expect(expand('https://www.example.com/{+p}', { p: 'news/../admin' })).toMatchObject({
      problem: 'dot-segment',
    });
    expect(expand('https://www.example.com/{constructor.name}', {})).toMatchObject({ problem: 'missing' });
    expect(expand('https://www.example.com/{__proto__}', JSON.parse('{"a":1}'))).toMatchObject({
      problem: 'missing',
    });
  });

  it.each([
    ['ftp://www.example.com/{slug}', 'must start with http:// or https://'],
    ['www.example.com/{slug}', 'must start with http:// or https://'],
    ['https://{host}/news/', 'scheme and host must be written out'],
    ['https://www.example.com{slug}', 'scheme and host must be written out'],
    ['https://www.example.com/news/{slug', 'never closed'],
    ['https://www.example.com/news/slug}', 'no "{" before it'],
    ['https://www.example.com/news/{}', 'not a field path'],
    ['https://www.example.com/news/{a..b}', 'not a field path'],
    ['https://www.example.com/news/{a {b}', 'not a field path'],
    [`https://www.example.com/${'x'.repeat(3000)}`, 'longer than 2048'],
  ])('refuse %s', (source, message) => {
    const parsed = parseUrlTemplate(source);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toContain(message);
  });

  it('parse hostile templates in linear time', () => {
    const started = performance.now();
    for (const hostile of ['{'.repeat(2000), '}{'.repeat(1000), `https://x.y/${'{a'.repeat(1000)}`]) {
      expect(parseUrlTemplate(hostile).ok).toBe(false);
    }
    expect(performance.now() - started).toBeLessThan(500);
  });
});
