import { describe, expect, it } from 'vitest';
import { cdnsForHost, hostMatches, routeUrls } from '../../src/pipeline/route.ts';

const routes = [
  { hosts: ['www.example.com', '*.img.example.com'], cdns: ['vims-main'] },
  { hosts: ['www.example.com'], cdns: ['quantil-asia', 'vims-main'] },
];

describe('routing', () => {
  it('matches exact hosts case-insensitively and wildcards on subdomains only', () => {
    expect(hostMatches('www.example.com', 'WWW.Example.com')).toBe(true);
    expect(hostMatches('*.img.example.com', 'a.img.example.com')).toBe(true);
    expect(hostMatches('*.img.example.com', 'a.b.img.example.com')).toBe(true);
    expect(hostMatches('*.img.example.com', 'img.example.com')).toBe(false);
    expect(hostMatches('*.img.example.com', 'evilimg.example.com')).toBe(false);
  });

  it('collects every CDN whose routes cover a host, without repeats', () => {
    expect(cdnsForHost(routes, 'www.example.com')).toEqual(['vims-main', 'quantil-asia']);
    expect(cdnsForHost(routes, 'other.org')).toEqual([]);
  });

  it('groups URLs by CDN and refuses hosts no route covers', () => {
    const grouped = routeUrls(routes, ['https://www.example.com/a', 'https://x.img.example.com/b.jpg']);
    expect(Object.fromEntries(grouped)).toEqual({
      'vims-main': ['https://www.example.com/a', 'https://x.img.example.com/b.jpg'],
      'quantil-asia': ['https://www.example.com/a'],
    });
    expect(() => routeUrls(routes, ['https://other.org/a'])).toThrow(/no route covers host\(s\) other\.org/);
  });
});
