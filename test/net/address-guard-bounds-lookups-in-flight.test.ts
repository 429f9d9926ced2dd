import type { LookupAddress } from 'node:dns';
import { describe, expect, it, vi } from 'vitest';
import { createAddressGuard, type HostLookup } from '../../src/net/address-guard.ts';

/**
 * A lookup abandoned by its timeout still holds a libuv thread until the resolver gives up, so the guard
 * counts it as in flight until the lookup itself settles. Lookups are injected: no real DNS.
 */
describe('the address guard, with a bound on lookups in flight', () => {
  const PUBLIC: LookupAddress[] = [{ address: '93.184.215.14', family: 4 }];

  it('refuses a third lookup with CALLBACK_CHECK_BUSY while two never answer, even after it gave up on them', async () => {
    const asked: string[] = [];
    const neverAnswers: HostLookup = (hostname) => {
      asked.push(hostname);
      return new Promise(() => {});
    };
    const guard = createAddressGuard({
      allowHosts: [],
      lookup: neverAnswers,
      lookupTimeoutMs: 20,
      maxLookupsInFlight: 2,
    });
    await expect(guard.resolve('a.example.net')).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
    await expect(guard.resolve('b.example.net')).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
    await expect(guard.resolve('c.example.net')).rejects.toMatchObject({
      code: 'CALLBACK_CHECK_BUSY',
      message: expect.stringMatching(/c\.example\.net.*2 host lookups already running.*retry/),
    });
    expect(asked).toEqual(['a.example.net', 'b.example.net']);
  });

  it('looks names up again once a held lookup settles, answered or failed', async () => {
    const pending: Array<{ answer: (value: LookupAddress[]) => void; fail: (error: Error) => void }> = [];
    const held: HostLookup = () =>
      new Promise((answer, fail) => {
        pending.push({ answer, fail });
      });
    const guard = createAddressGuard({
      allowHosts: [],
      lookup: held,
      lookupTimeoutMs: 5_000,
      maxLookupsInFlight: 2,
    });
    const first = guard.resolve('a.example.net');
    const second = guard.resolve('b.example.net');
    await vi.waitFor(() => expect(pending).toHaveLength(2));
    await expect(guard.resolve('c.example.net')).rejects.toMatchObject({ code: 'CALLBACK_CHECK_BUSY' });

    pending[0]?.answer(PUBLIC);
    await expect(first).resolves.toEqual(PUBLIC);
    const third = guard.resolve('c.example.net');
    await vi.waitFor(() => expect(pending).toHaveLength(3));
    await expect(guard.resolve('d.example.net')).rejects.toMatchObject({ code: 'CALLBACK_CHECK_BUSY' });

    pending[1]?.fail(Object.assign(new Error('getaddrinfo ENOTFOUND b.example.net'), { code: 'ENOTFOUND' }));
    await expect(second).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
    const fourth = guard.resolve('d.example.net');
    await vi.waitFor(() => expect(pending).toHaveLength(4));
    pending[2]?.answer(PUBLIC);
    pending[3]?.answer(PUBLIC);
    await expect(Promise.all([third, fourth])).resolves.toEqual([PUBLIC, PUBLIC]);
  });

  it('never counts an IP literal, which needs no lookup', async () => {
    const guard = createAddressGuard({
      allowHosts: [],
      lookup: () => new Promise(() => {}),
      lookupTimeoutMs: 20,
      maxLookupsInFlight: 1,
    });
    await expect(guard.resolve('a.example.net')).rejects.toMatchObject({ code: 'REQUEST_INVALID' });
    await expect(guard.resolve('93.184.215.14')).resolves.toEqual(PUBLIC);
  });
});
