import { describe, expect, it } from 'vitest';
import { PurgeError } from '../../src/errors.ts';
import type { PurgeTarget } from '../../src/model/purge.ts';
import { aggregateStatus, type BatchOptions, splitIntoBatches } from '../../src/providers/quantil/mapping.ts';
import type { StatusItem } from '../../src/providers/quantil/xml.ts';

const options: BatchOptions = { cdnId: 'q-main', maxItemsPerCall: 3, rootScheme: 'http' };
const urls = (n: number, prefix = 'http://h/u') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function item(status: string, rate = '', path = `http://h/${status}`): StatusItem {
  return { path, status, rate, isdir: 'N' };
}

function refusal(target: PurgeTarget, opts: BatchOptions = options): PurgeError {
  try {
    splitIntoBatches(target, opts);
  } catch (error) {
    expect(error).toBeInstanceOf(PurgeError);
    return error as PurgeError;
  }
  throw new Error('expected KIND_UNSUPPORTED');
}

describe('QUANTIL batches', () => {
  it('sends every url and dir exactly once, never more than maxItemsPerCall per call', () => {
    const target = { urls: urls(7), dirs: urls(4, 'http://h/d') };
    const batches = splitIntoBatches(target, options);
    expect(batches.map((b) => b.urls.length + b.dirs.length)).toEqual([3, 3, 3, 2]);
    expect(batches.flatMap((b) => b.urls)).toEqual(target.urls);
    expect(batches.flatMap((b) => b.dirs)).toEqual(target.dirs);
    // The third call carries the last url and the first two dirs: kinds share a call.
    expect(batches[2]).toEqual({ urls: ['http://h/u6'], dirs: ['http://h/d0', 'http://h/d1'] });
  });

  it('keeps a small target in one batch and an empty one in none', () => {
    const target = { urls: ['http://h/a?x=1&y=2'], dirs: ['http://h/news/'] };
    expect(splitIntoBatches(target, { ...options, maxItemsPerCall: 100 })).toEqual([target]);
    expect(splitIntoBatches({ urls: [], dirs: [] }, options)).toEqual([]);
  });

  it('refuses a pattern, naming the CDN', () => {
    const error = refusal({ urls: ['http://h/a'], dirs: [], pattern: '\\.jpg$' });
    expect(error.code).toBe('KIND_UNSUPPORTED');
    expect(error.message).toBe('CDN q-main (quantil) cannot purge by pattern');
  });

  it('refuses all without configured domains, saying how to enable it', () => {
    const error = refusal({ urls: [], dirs: [], all: true });
    expect(error.code).toBe('KIND_UNSUPPORTED');
    expect(error.message).toMatch(/q-main.*domains/);
    expect(refusal({ urls: [], dirs: [], all: true }, { ...options, domains: [] }).code).toBe(
      'KIND_UNSUPPORTED',
    );
  });

  it('turns all into one dir-url per domain root, in the configured scheme, batched', () => {
    const domains = ['a.example.com', 'b.example.com', 'c.example.com', 'd.example.com'];
    expect(splitIntoBatches({ urls: [], dirs: [], all: true }, { ...options, domains })).toEqual([
      { urls: [], dirs: ['http://a.example.com/', 'http://b.example.com/', 'http://c.example.com/'] },
      { urls: [], dirs: ['http://d.example.com/'] },
    ]);
    const https = { ...options, domains: ['a.example.com'], rootScheme: 'https' as const };
    expect(splitIntoBatches({ urls: [], dirs: [], all: true }, https)).toEqual([
      { urls: [], dirs: ['https://a.example.com/'] },
    ]);
  });
});

describe('QUANTIL status aggregation', () => {
  it('succeeds only when every item succeeded, whatever the casing', () => {
    const items = [item('success', '100.0'), item('Success', '100.0'), item('SUCCESS', '100.0')];
    expect(aggregateStatus(items)).toEqual({ state: 'succeeded', progress: 100 });
  });

  it('fails once all items are terminal and any failed, listing the failed paths', () => {
    const items = [
      item('success', '100.0', 'http://h/ok'),
      item('Failure', '100.0', 'http://h/bad1'),
      item('failure', '100.0', 'http://h/bad2'),
    ];
    expect(aggregateStatus(items)).toEqual({
      state: 'failed',
      reason: 'failed: http://h/bad1, http://h/bad2',
      progress: 100,
    });
    expect(aggregateStatus([item('failure', '100.0', 'http://h/x'), item('run', '50')]).state).toBe(
      'running',
    );
  });

  it('caps a long list of failed paths', () => {
    const items = urls(25).map((path) => item('failure', '100', path));
    const status = aggregateStatus(items);
    expect(status.state === 'failed' && status.reason).toMatch(/^failed: http:\/\/h\/u0, .*u19 and 5 more$/);
  });

  it('is running with the mean rate while items wait or run, pending while all wait', () => {
    expect(aggregateStatus([item('wait', '0.0'), item('run', '40.0'), item('Run', '80.0')])).toEqual({
      state: 'running',
      progress: 40,
    });
    expect(aggregateStatus([item('success', '100.0'), item('wait', '0.0')])).toEqual({
      state: 'running',
      progress: 50,
    });
    expect(aggregateStatus([item('wait', '0.0'), item('Wait', '')])).toEqual({
      state: 'pending',
      progress: 0,
    });
    expect(aggregateStatus([item('wait')])).toEqual({ state: 'pending' });
  });

  it('clamps rates to 0..100 and ignores unreadable ones', () => {
    const items = [item('run', '150'), item('run', '-20'), item('run', 'n/a'), item('run', '')];
    expect(aggregateStatus(items)).toEqual({ state: 'running', progress: 50 });
  });

  it('treats an unknown status as running, with a note naming it', () => {
    const status = aggregateStatus([item('success', '100.0'), item('Queued', '10.0')]);
    expect(status).toEqual({ state: 'running', progress: 55, note: 'unknown QUANTIL item status "Queued"' });
    expect(aggregateStatus([item('wait'), item('')])).toMatchObject({
      state: 'running',
      note: expect.any(String),
    });
  });

  it('is running with a note while the purge has no items yet', () => {
    expect(aggregateStatus([])).toEqual({ state: 'running', note: 'no items yet' });
  });
});
