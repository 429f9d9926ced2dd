import { describe, expect, it } from 'vitest';
import { createHostSlots, deferralDelayMs } from '../../src/queue/host-slots.ts';

describe('per-host delivery slots', () => {
  it('gives a host no more than its share, and other hosts their own', () => {
    const slots = createHostSlots(2);
    expect(slots.take('slow.example', 'a')).toBe(true);
    expect(slots.take('slow.example', 'b')).toBe(true);
    expect(slots.take('slow.example', 'c')).toBe(false);
    expect(slots.take('cms.example', 'd')).toBe(true);
    slots.give('slow.example');
    expect(slots.take('slow.example', 'c')).toBe(true);
  });

  it('counts every spelling of one host name (a trailing dot, any case) against the same share', () => {
    const slots = createHostSlots(1);
    expect(slots.take('cms.example.com', 'a')).toBe(true);
    expect(slots.take('cms.example.com.', 'b')).toBe(false);
    expect(slots.take('CMS.Example.COM', 'c')).toBe(false);
    slots.defer('CMS.example.com.', 'b');
    slots.give('cms.EXAMPLE.com.');
    expect(slots.nextWaiting('cms.example.com')).toBe('b');
    expect(slots.take('cms.example.com.', 'b')).toBe(true);
  });

  it('names the jobs deferred for a host oldest first, each once, and forgets one that got a slot', () => {
    const slots = createHostSlots(1);
    slots.take('h', 'running');
    for (const id of ['j1', 'j2', 'j3']) slots.defer('h', id);
    slots.defer('other', 'k1');
    slots.give('h');
    expect(slots.take('h', 'j2')).toBe(true);
    expect([slots.nextWaiting('h'), slots.nextWaiting('h'), slots.nextWaiting('h')]).toEqual([
      'j1',
      'j3',
      undefined,
    ]);
    expect(slots.nextWaiting('other')).toBe('k1');
  });

  it('defers a job 100 ms at first, doubling each time, never past 30 s, jittered down to half', () => {
    expect([0, 1, 2, 3].map((n) => deferralDelayMs(n, () => 1))).toEqual([100, 200, 400, 800]);
    expect(deferralDelayMs(50, () => 1)).toBe(30_000);
    expect(deferralDelayMs(0, () => 0)).toBe(50);
  });
});
