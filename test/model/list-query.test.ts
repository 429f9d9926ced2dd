import { describe, expect, it } from 'vitest';
import { isPurgeError } from '../../src/errors.ts';
import { decodeCursor, encodeCursor, parseListQuery } from '../../src/model/list-query.ts';
import { parseTimeBound } from '../../src/model/time-bound.ts';

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const context = { now: NOW, cdns: new Set(['vims-main', 'quantil-main']) };

function refusal(raw: Record<string, unknown>) {
  try {
    parseListQuery(raw, context);
  } catch (error) {
    if (isPurgeError(error)) return { code: error.code, parameter: error.parameter, message: error.message };
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

describe('a time bound', () => {
  it.each([
    ['2026-11-20', Date.UTC(2026, 10, 20)],
    ['2026-11-20T08:30', Date.UTC(2026, 10, 20, 8, 30)],
    ['2026-11-20T08:30:15Z', Date.UTC(2026, 10, 20, 8, 30, 15)],
    ['2026-11-20T08:30:15.250+02:00', Date.UTC(2026, 10, 20, 6, 30, 15, 250)],
    ['1795625094116', 1795625094116],
    ['90s', NOW - 90_000],
    ['30m', NOW - 1_800_000],
    ['1h', NOW - 3_600_000],
    ['7d', NOW - 7 * 86_400_000],
    ['2w', NOW - 14 * 86_400_000],
    ['500ms', NOW - 500],
  ])('reads %s', (text, expected) => {
    expect(parseTimeBound(text, NOW)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '1 h',
    '-1h',
    '1.5h',
    '1y',
    '1795625094', // seconds, not milliseconds: would read as 1970
    '2026-02-31',
    '2026-13-01',
    '2026-11-20T25:00',
    '2026-11-20 08:30',
    `${'9'.repeat(41)}`,
  ])('refuses %j', (text) => {
    expect(parseTimeBound(text, NOW)).toBeUndefined();
  });
});

describe('a list query', () => {
  it('reads every parameter, with lists comma-separated', () => {
    const cursor = encodeCursor({ createdAt: 1000, id: 'abc-1' });
    expect(
      parseListQuery(
        {
          state: 'failed,timed_out',
          cdn: 'vims-main',
          since: '1h',
          until: '2026-11-20T11:30Z',
          url: 'today.html',
          limit: '20',
          cursor,
        },
        context,
      ),
    ).toEqual({
      states: ['failed', 'timed_out'],
      cdns: ['vims-main'],
      since: NOW - 3_600_000,
      until: NOW - 1_800_000,
      text: 'today.html',
      limit: 20,
      cursor: { createdAt: 1000, id: 'abc-1' },
    });
    expect(parseListQuery({}, context)).toEqual({ limit: 50 });
  });

  it.each([
    [{ status: 'failed' }, 'status'],
    [{ state: 'broken' }, 'state'],
    [{ state: ['failed', 'succeeded'] }, 'state'],
    [{ cdn: 'akamai' }, 'cdn'],
    [{ cdn: '' }, 'cdn'],
    [{ since: 'yesterday' }, 'since'],
    [{ until: '1 h' }, 'until'],
    [{ since: '1h', until: '2h' }, 'since'],
    [{ url: '' }, 'url'],
    [{ url: 'x'.repeat(2049) }, 'url'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '201' }, 'limit'],
    [{ limit: '1e2' }, 'limit'],
    [{ limit: '-1' }, 'limit'],
    [{ cursor: 'not a cursor' }, 'cursor'],
    [{ cursor: Buffer.from('[1,"a b"]').toString('base64url') }, 'cursor'],
    [{ cursor: Buffer.from('{"s":1}').toString('base64url') }, 'cursor'],
    [{ cursor: 'x'.repeat(300) }, 'cursor'],
  ])('refuses %j naming %s', (raw, parameter) => {
    const found = refusal(raw);
    expect(found).toMatchObject({ code: 'REQUEST_INVALID', parameter });
    expect(found.message.startsWith(`${parameter}: `)).toBe(true);
  });

  it('round-trips a cursor and keeps it opaque text for a query string', () => {
    const text = encodeCursor({ createdAt: 1795625094116, id: '6f1c4d2e-0000-4000-8000-000000000000' });
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual({
      createdAt: 1795625094116,
      id: '6f1c4d2e-0000-4000-8000-000000000000',
    });
  });
});
