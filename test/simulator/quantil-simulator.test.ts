import { afterEach, describe, expect, it } from 'vitest';
import { type CallOptions, closeAll, purgeXml, setup, T0, UUID } from './quantil-harness.ts';

afterEach(closeAll);

describe('QUANTIL simulator authentication', () => {
  it('accepts only HMAC-SHA1(apiKey, Date) for a known user, within the allowed skew', async () => {
    const { sim, clock, call } = await setup();
    expect((await call('/api/purge')).status).toBe(200);
    expect((await call('/api/purge', { user: 'bob' })).status).toBe(200);
    const refusals: CallOptions[] = [
      { key: 'wrong-key' },
      { user: 'mallory', key: 'alice-key' },
      { date: null },
      { date: 'yesterday-ish' },
      { date: new Date(clock.now + 16 * 60_000).toUTCString() },
      { date: new Date(clock.now - 16 * 60_000).toUTCString() },
      { headers: { authorization: 'Bearer x' } },
    ];
    for (const options of refusals) {
      const res = await call('/api/purge', options);
      expect(res.status).toBe(401);
      expect(res.xml().error?.code).toBe('Unauthorized');
    }
    expect((await call('/api/purge', { date: new Date(clock.now - 14 * 60_000).toUTCString() })).status).toBe(
      200,
    );
    expect(sim.quantil.requests.map((r) => r.authorized)).toEqual([
      true,
      true,
      ...refusals.map(() => false),
      true,
    ]);
    expect(JSON.stringify(sim.quantil.requests)).not.toContain('alice-key');
  });

  it('applies maxSkewMs and requires an XML Accept header', async () => {
    const { clock, call } = await setup({ maxSkewMs: 1000 });
    expect((await call('/api/purge', { date: new Date(clock.now + 2000).toUTCString() })).status).toBe(401);
    expect((await call('/api/purge', { headers: { accept: 'application/json' } })).status).toBe(406);
  });
});

describe('QUANTIL simulator purges', () => {
  it('creates a purge from the XML body and answers 202 with Location and x-cnc-request-id', async () => {
    const { sim, submit, idOf } = await setup();
    const res = await submit(['http://h.example.com/s?a=1&b=2'], ['http://h.example.com/news/']);
    expect(res.status).toBe(202);
    expect(res.header('location')).toMatch(new RegExp(`^${sim.url}/api/purge/[0-9a-f-]{36}$`));
    expect(idOf(res)).toMatch(UUID);
    expect(res.header('x-cnc-request-id')).toMatch(/^\d+$/);
    expect(res.text).toBe('');
    expect(sim.quantil.purges).toEqual([
      {
        id: idOf(res),
        user: 'alice',
        createdAt: T0,
        items: [
          { path: 'http://h.example.com/s?a=1&b=2', isdir: false, status: 'wait', rate: 0 },
          { path: 'http://h.example.com/news/', isdir: true, status: 'wait', rate: 0 },
        ],
      },
    ]);
    expect(sim.quantil.requests.at(-1)?.body).toEqual({
      fileUrls: ['http://h.example.com/s?a=1&b=2'],
      dirUrls: ['http://h.example.com/news/'],
    });
  });

  it.each([
    ['body', 201, false, true],
    ['both', 200, true, true],
    ['none', 202, false, false],
  ] as const)('puts the id in the %s with HTTP %i', async (idIn, createStatus, inLocation, inBody) => {
    const { sim, submit } = await setup({ idIn, createStatus });
    const res = await submit();
    const id = sim.quantil.purges[0]?.id ?? '';
    expect(res.status).toBe(createStatus);
    expect(res.header('location') !== undefined).toBe(inLocation);
    expect(res.text.includes(`<purge-id>${id}</purge-id>`)).toBe(inBody);
  });

  it('refuses malformed or empty purge bodies and a non-XML content type', async () => {
    const { sim, call } = await setup();
    const bodies = [
      '<purge-urls><version>1.0.0</version><file-url>http://h/a</purge-urls>',
      '<purge-urls><version>1.0.0</version></purge-urls>',
      '<purge-urls><file-url>http://h/a</file-url></purge-urls>',
      '<purge-urls><version>1.0.0</version><file-url>/relative</file-url></purge-urls>',
      '<!DOCTYPE x [<!ENTITY a "http://h/a">]><purge-urls><version>1</version><file-url>&a;</file-url></purge-urls>',
      '{"urls":["http://h/a"]}',
    ];
    for (const body of bodies) {
      const res = await call('/api/purge', { method: 'POST', body });
      expect([res.status, res.xml().error?.code]).toEqual([400, 'BadRequest']);
    }
    const json = purgeXml(['http://h/a']);
    const wrongType = await call('/api/purge', {
      method: 'POST',
      body: json,
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    expect(sim.quantil.purges).toEqual([]);
  });

  it('moves items wait -> run with rising rate -> success/failure on the injected clock', async () => {
    const { clock, submit, idOf, items } = await setup({
      statusCasing: 'lower',
      outcome: (path) => (path.includes('bad') ? 'failure' : 'success'),
    });
    const id = idOf(await submit(['http://h/good', 'http://h/bad'], ['http://h/dir/']));
    const waiting = await items(id);
    expect(waiting.map((i) => [i.status, i.rate, i.isdir])).toEqual([
      ['wait', '0.0', 'N'],
      ['wait', '0.0', 'N'],
      ['wait', '0.0', 'Y'],
    ]);
    clock.now = T0 + 250;
    expect((await items(id)).map((i) => [i.status, i.rate])).toEqual(Array(3).fill(['run', '25.0']));
    clock.now = T0 + 1000;
    const done = await items(id);
    expect(done.map((i) => [i.path, i.status, i.rate])).toEqual([
      ['http://h/good', 'success', '100.0'],
      ['http://h/bad', 'failure', '100.0'],
      ['http://h/dir/', 'success', '100.0'],
    ]);
  });

  it('answers in the documented shape, with statuses in mixed casing by default', async () => {
    const { clock, call, submit, idOf } = await setup();
    const id = idOf(await submit(['http://h/1', 'http://h/2', 'http://h/3']));
    clock.now = T0 + 5000;
    const res = await call(`/api/purge/${id}`);
    expect([res.status, res.header('content-type')]).toEqual([200, 'application/xml;charset=UTF-8']);
    expect(res.text).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><purge-result><request-date>/);
    const result = res.xml()['purge-result'] ?? {};
    expect(result['request-date']).toBe('Thu, 07 Aug 2014 18:46:21 GMT');
    expect(result.item?.map((i) => i.status)).toEqual(['success', 'Success', 'success']);
  });

  it('uses the casing the doc text uses when asked', async () => {
    const { clock, submit, idOf, items } = await setup({ statusCasing: 'capitalized' });
    const id = idOf(await submit(['http://h/1', 'http://h/2']));
    expect((await items(id)).map((i) => i.status)).toEqual(['wait', 'wait']);
    clock.now = T0 + 5000;
    expect((await items(id)).map((i) => i.status)).toEqual(['Success', 'Success']);
  });

  it('answers 404 for an unknown id, another account’s purge and unknown routes', async () => {
    const { call, submit, idOf } = await setup();
    const id = idOf(await submit());
    expect((await call('/api/purge/3315965a-41fc-4c72-a8ff-4c54e0a106f1')).status).toBe(404);
    expect((await call(`/api/purge/${id}`, { user: 'bob' })).status).toBe(404);
    const unknown = await call(`/api/purge/${id}/extra`);
    expect([unknown.status, unknown.xml().error?.code]).toEqual([404, 'NotFound']);
  });

  it('pins item statuses and serves a verbatim body', async () => {
    const { sim, call, submit, idOf, items } = await setup({ statusCasing: 'lower' });
    const id = idOf(await submit(['http://h/1', 'http://h/2']));
    sim.quantil.setItemStatus(id, 'http://h/2', 'failure');
    sim.quantil.setItemStatus(id, 'http://h/1', 'Queued');
    expect((await items(id)).map((i) => [i.status, i.rate])).toEqual([
      ['Queued', '0.0'],
      ['failure', '100.0'],
    ]);
    sim.quantil.setItemStatus(id, 'http://h/1', null);
    expect((await items(id))[0]?.status).toBe('wait');
    expect(() => sim.quantil.setItemStatus(id, 'http://h/none', 'run')).toThrow();
    const verbatim = '<?xml version="1.0"?><purge-result>\n <item><path>x</path></item></purge-result>';
    sim.quantil.serveVerbatim('any-id', verbatim);
    expect((await call('/api/purge/any-id')).text).toBe(verbatim);
    sim.quantil.serveVerbatim('any-id', null);
    expect((await call('/api/purge/any-id')).status).toBe(404);
  });

  it('lists the account’s purges within the date range', async () => {
    const { clock, call, submit, idOf } = await setup();
    const first = idOf(await submit());
    clock.now = T0 + 60_000;
    const second = idOf(await submit());
    await submit(['http://h/b'], [], { user: 'bob' });
    const list = async (from: number, to: number) => {
      const query = `datefrom=${new Date(from).toISOString()}&dateto=${new Date(to).toISOString()}`;
      const res = await call(`/api/purge?${query}`);
      return (res.xml()['purge-list']?.['Purge-request'] ?? []).map((p) => p['purge-id']);
    };
    expect(await list(T0 - 1000, T0 + 120_000)).toEqual([first, second]);
    expect(await list(T0 + 1000, T0 + 120_000)).toEqual([second]);
    expect(await list(T0 + 200_000, T0 + 300_000)).toEqual([]);
  });
});

describe('QUANTIL simulator daily quota', () => {
  it('refuses with 403 over the per-account daily quota and resets at the next UTC day', async () => {
    const { sim, clock, submit } = await setup({ dailyQuota: { files: 3, dirs: 1 } });
    expect((await submit(['http://h/1', 'http://h/2'])).status).toBe(202);
    const over = await submit(['http://h/3', 'http://h/4']);
    expect(over.status).toBe(403);
    expect(over.xml().error).toEqual({
      code: 'QuotaExceeded',
      message: 'daily purge quota exceeded for alice: 4/3 file urls, 0/1 dir urls requested today',
    });
    expect((await submit(['http://h/3'], ['http://h/d/'])).status).toBe(202);
    expect((await submit([], ['http://h/e/'])).status).toBe(403);
    expect(sim.quantil.quotaUsed('alice')).toEqual({ files: 3, dirs: 1 });
    // Another account has its own quota.
    expect((await submit(['http://h/1', 'http://h/2', 'http://h/3'], [], { user: 'bob' })).status).toBe(202);
    clock.now = Date.UTC(2014, 7, 8, 0, 0, 1);
    expect(sim.quantil.quotaUsed('alice')).toEqual({ files: 0, dirs: 0 });
    expect((await submit(['http://h/1'], ['http://h/d/'])).status).toBe(202);
    expect(sim.quantil.purges).toHaveLength(4);
  });
});
