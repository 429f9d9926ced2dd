import { describe, expect, it } from 'vitest';
import { canonicalUrl } from '../../src/model/url.ts';

const url = (raw: string, max?: number) => canonicalUrl(raw, 'url', max);
const dir = (raw: string) => canonicalUrl(raw, 'dir');

describe('canonical URLs', () => {
  it.each([
    ['drops the fragment', 'https://www.example.com/a.html#comments', 'https://www.example.com/a.html'],
    ['lower-cases the host', 'https://WWW.Example.COM/A.html', 'https://www.example.com/A.html'],
    [
      'puts a Unicode host in punycode and percent-encodes the path',
      'http://bücher.example/ü.html',
      'http://xn--bcher-kva.example/%C3%BC.html',
    ],
    ['drops a default port', 'https://www.example.com:443/a', 'https://www.example.com/a'],
    ['keeps another port', 'http://www.example.com:8080/a', 'http://www.example.com:8080/a'],
    ['resolves dot segments', 'https://www.example.com/a/./b/../c.html', 'https://www.example.com/a/c.html'],
    [
      'keeps the query as given',
      'https://www.example.com/a?b=1&c=%20',
      'https://www.example.com/a?b=1&c=%20',
    ],
    ['gives a bare host its root path', 'https://www.example.com', 'https://www.example.com/'],
  ])('%s', (_name, raw, expected) => {
    expect(url(raw)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['a newline', 'https://www.example.com/a\n.html', /control or whitespace character \(U\+000A\) at 25/],
    ['a \\x01', 'https://www.example.com/\u0001', /U\+0001/],
    ['leading spaces', '  https://www.example.com/a', /U\+0020\) at 0/],
    ['a tab', 'https://www.example.com/a\tb', /U\+0009/],
    ['a no-break space', 'https://www.example.com/a\u00a0b', /U\+00A0/],
    ['an ideographic space', 'https://www.example.com/a\u3000b', /U\+3000/],
    ['DEL', 'https://www.example.com/a\u007f', /U\+007F/],
    ['user info', 'https://user:secret@www.example.com/a', /user info/],
    ['a user name alone', 'https://user@www.example.com/a', /user info/],
    ['another scheme', 'ftp://www.example.com/a', /absolute http\(s\) URL/],
    ['a relative URL', '/a.html', /absolute http\(s\) URL/],
  ])('refuses %s', (_name, raw, reason) => {
    const result = url(raw);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('refuses a URL over the length limit, before and after encoding', () => {
    expect(url(`https://www.example.com/${'a'.repeat(100)}`, 64)).toEqual({
      ok: false,
      reason: 'is longer than 64 characters',
    });
    // 40 characters as typed, 64+ once each é becomes %C3%A9.
    expect(url(`https://www.example.com/${'é'.repeat(16)}`, 64)).toEqual({
      ok: false,
      reason: 'is longer than 64 characters once encoded',
    });
  });

  it('makes a dir a directory: a trailing slash, never a bare prefix', () => {
    expect(dir('https://www.example.com/news')).toEqual({ ok: true, value: 'https://www.example.com/news/' });
    expect(dir('https://www.example.com/news/')).toEqual({
      ok: true,
      value: 'https://www.example.com/news/',
    });
    expect(dir('https://www.example.com')).toEqual({ ok: true, value: 'https://www.example.com/' });
    expect(dir('https://www.example.com/news?page=2')).toEqual({
      ok: false,
      reason: 'a dir cannot have a query string',
    });
  });
});
