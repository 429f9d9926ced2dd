import { describe, expect, it } from 'vitest';
import { purgeActionOf } from '../../src/providers/akamai/config.ts';
import {
  checkTag,
  type MappingOptions,
  OBJECTS_PER_CALL,
  packObjects,
  remoteIdOf,
  splitIntoBatches,
  statusOfRemoteId,
  supportedKinds,
  toCalls,
  wireUrl,
} from '../../src/providers/akamai/mapping.ts';

const OPTIONS: MappingOptions = { cdnId: 'edge', maxBodyBytes: 50_000 };
const url = (i: number, pad = 80) => `https://www.example.com/${'x'.repeat(pad)}/${i}.html`;
const bytes = (text: string) => Buffer.byteLength(text);

/** What take.lua charges a URL of the character budget: its regex-escaped length and a separator. */
function takeCost(value: string): number {
  return value.length + (value.match(/[\^$.*+?()[\]{}|/\\]/g)?.length ?? 0) + 1;
}

describe('Akamai mapping', () => {
  it('supports urls and tags, and all only with CP codes', () => {
    expect([...supportedKinds(OPTIONS)]).toEqual(['urls', 'tags']);
    expect([...supportedKinds({ allCpCodes: [1] })]).toEqual(['urls', 'tags', 'all']);
  });

  it.each([
    ['dirs', { urls: [], dirs: ['https://www.example.com/a/'] }, 'no directory purge'],
    ['pattern', { urls: [], dirs: [], pattern: 'x' }, 'no patterns'],
    ['all', { urls: [], dirs: [], all: true }, 'configure allCpCodes'],
  ])('refuses %s naming the CDN entry', (_kind, target, why) => {
    expect(() => splitIntoBatches(target, OPTIONS)).toThrow(
      expect.objectContaining({
        code: 'KIND_UNSUPPORTED',
        message: expect.stringMatching(/^CDN edge \(akamai\) cannot purge/),
      }),
    );
    expect(() => splitIntoBatches(target, OPTIONS)).toThrow(why);
  });

  it('packs bodies greedily up to exactly the byte limit, objects in order', () => {
    const urls = Array.from({ length: 1_000 }, (_, i) => url(i));
    const calls = toCalls({ urls, dirs: [] }, OPTIONS);
    expect(calls.flatMap((c) => c.objects)).toEqual(urls);
    for (const [index, call] of calls.entries()) {
      expect(call.body).toBe(JSON.stringify({ objects: call.objects }));
      expect(bytes(call.body)).toBeLessThanOrEqual(50_000);
      const next = calls[index + 1]?.objects[0];
      // Full: the next call's first object would not have fitted.
      if (next !== undefined) {
        expect(bytes(JSON.stringify({ objects: [...call.objects, next] }))).toBeGreaterThan(50_000);
      }
    }
  });

  it('fits a body to the byte exactly at the limit', () => {
    // `{"objects":["..."]}` is 16 bytes besides the URL.
    const exact = `https://www.example.com/${'a'.repeat(1_000 - 16 - 24)}`;
    expect(bytes(JSON.stringify({ objects: [exact] }))).toBe(1_000);
    expect(packObjects('url', [exact], 1_000)).toHaveLength(1);
    expect(() => packObjects('url', [`${exact}b`], 1_000)).toThrow(
      expect.objectContaining({ code: 'REQUEST_INVALID' }),
    );
  });

  it('counts bytes, not characters: multi-byte tags take their UTF-8 size', () => {
    const tags = Array.from({ length: 300 }, (_, i) => `é${'ü'.repeat(10)}${i}`);
    for (const call of toCalls({ urls: [], dirs: [], tags }, { ...OPTIONS, maxBodyBytes: 2_000 })) {
      expect(bytes(call.body)).toBeLessThanOrEqual(2_000);
    }
  });

  it('never puts more objects in one call than the bucket of their type holds', () => {
    const tags = Array.from({ length: 6_000 }, (_, i) => `t${i}`);
    const calls = toCalls({ urls: [], dirs: [], tags }, OPTIONS);
    expect(calls.map((c) => c.objects.length)).toEqual([OBJECTS_PER_CALL.tag, 1_000]);
  });

  it("keeps to one call whatever fits the take's character bound (maxTargetCharsPerCall, targetCharsOf url)", () => {
    const bound = 50_000 - bytes('{"objects":[]}');
    const urls: string[] = [];
    let chars = 0;
    for (let i = 0; chars + takeCost(url(i, i % 50)) <= bound; i += 1) {
      urls.push(url(i, i % 50));
      chars += takeCost(url(i, i % 50));
    }
    expect(splitIntoBatches({ urls, dirs: [] }, OPTIONS)).toHaveLength(1);
  });

  it('sends URLs as ASCII (non-ASCII percent-encoded, host punycoded) without fragments', () => {
    expect(wireUrl('https://www.example.com/café?q=ü#top')).toBe(
      'https://www.example.com/caf%C3%A9?q=%C3%BC',
    );
    expect(wireUrl('https://bücher.example/a')).toBe('https://xn--bcher-kva.example/a');
    expect(() => wireUrl('ftp://www.example.com/a')).toThrow(
      expect.objectContaining({ code: 'REQUEST_INVALID' }),
    );
  });

  it('refuses tags no origin could have set', () => {
    expect(checkTag('product-42')).toBe('product-42');
    for (const bad of ['', 'a b', 'a,b', 'x'.repeat(129), 'a\u0000']) {
      expect(() => checkTag(bad)).toThrow(expect.objectContaining({ code: 'REQUEST_INVALID' }));
    }
  });

  it('maps all to the configured CP codes, superseding the rest of a batch', () => {
    const calls = toCalls({ urls: [], dirs: [], all: true }, { ...OPTIONS, allCpCodes: [12345, 98765] });
    expect(calls).toEqual([{ type: 'cpcode', objects: [12345, 98765], body: '{"objects":[12345,98765]}' }]);
    expect(splitIntoBatches({ urls: [], dirs: [], all: true }, { ...OPTIONS, allCpCodes: [1] })).toEqual([
      { urls: [], dirs: [], all: true },
    ]);
  });

  it('splits a target into one batch per call, URLs then tags, duplicates dropped', () => {
    const batches = splitIntoBatches(
      { urls: ['https://a.example/1', 'https://a.example/1'], dirs: [], tags: ['t', 't'] },
      OPTIONS,
    );
    expect(batches).toEqual([
      { urls: ['https://a.example/1'], dirs: [] },
      { urls: [], dirs: [], tags: ['t'] },
    ]);
  });

  it('answers status from the remote id alone, and knows no other id', () => {
    const id = remoteIdOf([
      { purgeId: 'edcp-NZbXzFpHBjcJeryhw6PVgG', supportId: 'edcp-NZbXzFpHBjcJeryhw6PVgG' },
      { purgeId: 'e5b4-01b2-11e5-ad16-0aa22a7d1e9e', supportId: 'edup-abc' },
    ]);
    expect(id).toBe(
      'akamai:edcp-NZbXzFpHBjcJeryhw6PVgG:edcp-NZbXzFpHBjcJeryhw6PVgG,e5b4-01b2-11e5-ad16-0aa22a7d1e9e:edup-abc',
    );
    expect(statusOfRemoteId(id)).toEqual({ state: 'succeeded', progress: 100 });
    for (const other of [
      '424242',
      'akamai:',
      'akamai:a',
      'akamai:a:b,',
      'varnish:1n:x',
      `akamai:${'a'.repeat(129)}:b`,
    ]) {
      expect(statusOfRemoteId(other)).toBeUndefined();
    }
  });

  it('reads the action: invalidate by default, soft as its synonym, contradictions refused', () => {
    expect(purgeActionOf({})).toEqual({ ok: true, action: 'invalidate' });
    expect(purgeActionOf({ soft: false })).toEqual({ ok: true, action: 'delete' });
    expect(purgeActionOf({ action: 'delete' })).toEqual({ ok: true, action: 'delete' });
    expect(purgeActionOf({ action: 'invalidate', soft: true })).toEqual({ ok: true, action: 'invalidate' });
    expect(purgeActionOf({ action: 'invalidate', soft: false })).toMatchObject({ ok: false });
  });
});

describe('Akamai batches', () => {
  it('keep the targets as given, measured by what is sent', () => {
    const given = 'https://www.example.com/a#part';
    expect(splitIntoBatches({ urls: [given], dirs: [] }, OPTIONS)).toEqual([{ urls: [given], dirs: [] }]);
    expect(toCalls({ urls: [given, 'https://www.example.com/a'], dirs: [] }, OPTIONS)).toEqual([
      {
        type: 'url',
        objects: ['https://www.example.com/a'],
        body: '{"objects":["https://www.example.com/a"]}',
      },
    ]);
  });
});
