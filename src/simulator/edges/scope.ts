/**
 * What an edge caches an object under, and which cached objects a purge covers as each CDN expresses it:
 * VIMS as one regex on the request target, QUANTIL as file URLs (exact) and dir URLs (prefix).
 */

/** The Host an object was asked for (lower case) and the request target: path and query. */
export interface CacheKey {
  host: string;
  target: string;
}

export type KeyMatcher = (key: CacheKey) => boolean;

/** A purge's scope: `exact` lets a store drop one object without scanning every key. */
export interface PurgeScope {
  matches: KeyMatcher;
  exact?: CacheKey;
}

/** A newline can appear in neither a header value nor a request target, so the two parts never blur. */
export function keyString(key: CacheKey): string {
  return `${key.host}\n${key.target}`;
}

/**
 * A URL's key, as an edge asked for it would store it: the target keeps an empty query's `?` (`/a?` is
 * not `/a` to a cache), as the VIMS provider's pattern subject does.
 */
export function keyOfUrl(url: string): CacheKey {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`not an http(s) URL: ${url}`);
  }
  parsed.hash = '';
  const query = parsed.href.indexOf('?');
  const target = query < 0 ? parsed.pathname : `${parsed.pathname}${parsed.href.slice(query)}`;
  return { host: parsed.host, target };
}

/**
 * VIMS matches `pattern` against the path and query (the project's default `patternScope`, as a Varnish
 * ban on req.url would); `*` purges everything. The VIMS simulator has already refused invalid regexes.
 */
export function vimsPatternScope(pattern: string): PurgeScope {
  if (pattern === '*') return { matches: () => true };
  const regex = new RegExp(pattern);
  return { matches: (key) => regex.test(key.target) };
}

export function quantilFileScope(fileUrl: string): PurgeScope {
  const exact = keyOfUrl(fileUrl);
  return { exact, matches: (key) => key.host === exact.host && key.target === exact.target };
}

/** A dir URL is a prefix on its host, as the VIMS mapping treats dirs too (`/news` covers `/news-x`). */
export function quantilDirScope(dirUrl: string): PurgeScope {
  const dir = keyOfUrl(dirUrl);
  return { matches: (key) => key.host === dir.host && key.target.startsWith(dir.target) };
}
