import { PurgeError } from '../../errors.ts';
import { type PurgeTarget, type TargetKind, targetKinds } from '../../model/purge.ts';
import type { RemoteStatus } from '../provider.ts';
import type { PurgeAction } from './config.ts';

/**
 * Pure translation between purge targets and Fast Purge v3 requests: one object type per request
 * (`POST /ccu/v3/{action}/{url|tag|cpcode}/{network}`, body `{"objects": [...]}`), each body at most
 * `maxBodyBytes` of serialized JSON. Akamai counts the limit in bytes of the body, not objects, so batches
 * are cut by the exact size of what will be sent.
 */

export type ObjectType = 'url' | 'tag' | 'cpcode';

export interface MappingOptions {
  /** Named in refusals so an operator sees which configured CDN refused. */
  cdnId: string;
  maxBodyBytes: number;
  /** The CP codes `all` purges; without them `all` is refused. */
  allCpCodes?: readonly number[] | undefined;
}

export interface AkamaiCall {
  type: ObjectType;
  objects: Array<string | number>;
  /** Exactly the bytes sent (and signed). */
  body: string;
}

/**
 * Objects one request may carry, by type: the size of the account's token bucket for that type. A request
 * needing more tokens than the bucket holds could never be admitted (429 forever), so none is made.
 */
export const OBJECTS_PER_CALL: Readonly<Record<ObjectType, number>> = {
  url: 10_000,
  tag: 5_000,
  cpcode: 300,
};

/** `{"objects":[]}`: what a body costs besides its objects. */
const BODY_OVERHEAD = Buffer.byteLength(JSON.stringify({ objects: [] }));

export function purgePath(action: PurgeAction, type: ObjectType, network: 'production' | 'staging'): string {
  return `/ccu/v3/${action}/${type}/${network}`;
}

/** What an entry can purge: URLs and cache tags always; `all` only through configured CP codes. */
export function supportedKinds(options: Pick<MappingOptions, 'allCpCodes'>): ReadonlySet<TargetKind> {
  return new Set<TargetKind>(options.allCpCodes ? ['urls', 'tags', 'all'] : ['urls', 'tags']);
}

const WHY_NOT: Partial<Record<TargetKind, string>> = {
  dirs: 'Fast Purge v3 has no directory purge',
  pattern: 'Fast Purge v3 takes no patterns or wildcards',
  all: 'Fast Purge v3 has no purge-everything: configure allCpCodes to purge the CP codes',
};

export function refuseUnsupported(target: PurgeTarget, options: MappingOptions): void {
  const kinds = supportedKinds(options);
  for (const kind of targetKinds(target)) {
    if (!kinds.has(kind)) {
      const why = WHY_NOT[kind];
      throw new PurgeError(
        'KIND_UNSUPPORTED',
        `CDN ${options.cdnId} (akamai) cannot purge ${kind}${why ? `: ${why}` : ''}`,
      );
    }
  }
}

/**
 * A URL as Fast Purge takes it: absolute http(s), no fragment, ASCII only (Akamai answers 400 "bad URL" to
 * non-ASCII characters, so the WHATWG serialisation percent-encodes them and punycodes the host first).
 */
export function wireUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PurgeError('REQUEST_INVALID', `Akamai: not an absolute URL: ${url.slice(0, 200)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PurgeError('REQUEST_INVALID', `Akamai purges http(s) URLs only, not ${parsed.protocol}`);
  }
  parsed.hash = '';
  const href = parsed.href;
  if (/[^\x21-\x7e]/.test(href)) {
    throw new PurgeError('REQUEST_INVALID', `Akamai: URL has characters it refuses: ${href.slice(0, 200)}`);
  }
  return href;
}

/**
 * Cache tags as the origin sets them in `Edge-Cache-Tag` (a comma-separated header): a tag with a comma,
 * whitespace or a control character could never have been set, and 128 characters is the documented tag
 * length limit as far as we know (inferred: the purge API itself states none). Refused, not sent.
 */
const MAX_TAG_LENGTH = 128;
const NOT_IN_A_TAG = /[\s,\p{Cc}]/u;

export function checkTag(tag: string): string {
  if (tag === '' || tag.length > MAX_TAG_LENGTH || NOT_IN_A_TAG.test(tag)) {
    throw new PurgeError(
      'REQUEST_INVALID',
      `Akamai cache tag must be 1-${MAX_TAG_LENGTH} characters without commas, spaces or control characters: ${JSON.stringify(tag.slice(0, 200))}`,
    );
  }
  return tag;
}

/**
 * Objects of one type, packed greedily, in order, into bodies of at most `maxBodyBytes` and at most the
 * type's bucket size. Each object's cost is its serialized JSON (and a comma after the first).
 */
export function packObjects(
  type: ObjectType,
  objects: ReadonlyArray<string | number>,
  maxBodyBytes: number,
): AkamaiCall[] {
  const calls: AkamaiCall[] = [];
  let current: Array<string | number> = [];
  let size = BODY_OVERHEAD;
  const close = (): void => {
    if (current.length === 0) return;
    calls.push({ type, objects: current, body: JSON.stringify({ objects: current }) });
    current = [];
    size = BODY_OVERHEAD;
  };
  for (const object of objects) {
    const bytes = Buffer.byteLength(JSON.stringify(object));
    if (BODY_OVERHEAD + bytes > maxBodyBytes) {
      throw new PurgeError(
        'REQUEST_INVALID',
        `Akamai: one ${type} of ${bytes} bytes cannot fit a request body of at most ${maxBodyBytes} bytes`,
      );
    }
    if (current.length > 0 && (size + bytes + 1 > maxBodyBytes || current.length >= OBJECTS_PER_CALL[type])) {
      close();
    }
    size += current.length === 0 ? bytes : bytes + 1;
    current.push(object);
  }
  close();
  return calls;
}

/**
 * Every request a batch needs: its URLs, then its tags, each type cut by size; `all` is the configured CP
 * codes (and covers whatever else the batch holds: it superseded it). A batch from `toBatches` is one call;
 * one the pipeline coalesced may hold URLs and tags, so two.
 */
export function toCalls(batch: PurgeTarget, options: MappingOptions): AkamaiCall[] {
  refuseUnsupported(batch, options);
  if (batch.all) return packObjects('cpcode', options.allCpCodes ?? [], options.maxBodyBytes);
  const calls = [
    ...packObjects('url', [...new Set(batch.urls.map(wireUrl))], options.maxBodyBytes),
    ...packObjects('tag', [...new Set((batch.tags ?? []).map(checkTag))], options.maxBodyBytes),
  ];
  if (calls.length === 0) throw new PurgeError('REQUEST_INVALID', 'Akamai batch has nothing to purge');
  return calls;
}

/**
 * Each call as a batch of its own: what the pipeline stores and later hands back to `submit`. Batches keep
 * the targets as given (the pipeline matches them to the purges that asked); their wire form (wireUrl) is
 * what is measured, and what `submit` sends.
 */
export function splitIntoBatches(target: PurgeTarget, options: MappingOptions): PurgeTarget[] {
  refuseUnsupported(target, options);
  if (target.all) return [{ urls: [], dirs: [], all: true }];
  const urls = [...new Set(target.urls)];
  const tags = [...new Set(target.tags ?? [])];
  const batches: PurgeTarget[] = [];
  /** The given values, cut where their wire forms' calls were cut. */
  const cut = (given: string[], calls: AkamaiCall[]): string[][] => {
    let from = 0;
    return calls.map((call) => {
      const part = given.slice(from, from + call.objects.length);
      from += call.objects.length;
      return part;
    });
  };
  for (const part of cut(urls, packObjects('url', urls.map(wireUrl), options.maxBodyBytes))) {
    batches.push({ urls: part, dirs: [] });
  }
  for (const part of cut(tags, packObjects('tag', tags.map(checkTag), options.maxBodyBytes))) {
    batches.push({ urls: [], dirs: [], tags: part });
  }
  return batches;
}

/**
 * Fast Purge v3 has no status to ask: a purge is done about `estimatedSeconds` after it was accepted. The remote
 * id carries what Akamai answered (`akamai:<purgeId>:<supportId>`, one pair per call, comma-separated), so any
 * worker process answers `status` for it without state or a call, and an id not of this shape is unknown. The
 * classes exclude both separators, so the match is linear.
 */
const ID = '[A-Za-z0-9._-]{1,128}';
const REMOTE_ID = new RegExp(`^akamai:${ID}:${ID}(?:,${ID}:${ID})*$`);
export const AKAMAI_ID = new RegExp(`^${ID}$`);

export interface AcceptedCall {
  purgeId: string;
  supportId: string;
}

export function remoteIdOf(accepted: readonly AcceptedCall[]): string {
  return `akamai:${accepted.map(({ purgeId, supportId }) => `${purgeId}:${supportId}`).join(',')}`;
}

export function statusOfRemoteId(remoteId: string): RemoteStatus | undefined {
  return REMOTE_ID.test(remoteId) ? { state: 'succeeded', progress: 100 } : undefined;
}
