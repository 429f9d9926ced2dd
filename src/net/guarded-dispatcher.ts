import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { AddressGuard } from './address-guard.ts';

/** Builds undici's socket connector; a test swaps it for one that fails if it is ever reached. */
export type ConnectorFactory = (options: buildConnector.BuildOptions) => buildConnector.connector;

export interface GuardedDispatcherOptions {
  connectTimeoutMs: number;
  connect?: ConnectorFactory;
}

/**
 * The undici dispatcher for every request to a caller-named URL. Before a socket is opened, the host is
 * resolved and every address checked by the guard; the socket is then dialled through a lookup pinned to
 * exactly those checked addresses, so a DNS answer that changes between check and connect (rebinding)
 * is never used. A literal IP host is checked as is (net.connect would not look it up). The host name
 * itself is kept for the Host header, SNI and certificate checks.
 *
 * Redirects: undici's request never follows them (since undici 7 only a redirect interceptor does, and
 * none is installed), so a 3xx is the answer, and the caller treats it as a failed delivery.
 */
export function createGuardedDispatcher(guard: AddressGuard, options: GuardedDispatcherOptions): Agent {
  const build = options.connect ?? buildConnector;
  const connect: buildConnector.connector = (target, callback) => {
    guard.resolve(target.hostname).then(
      (addresses) => {
        const dial = build({ timeout: options.connectTimeoutMs, lookup: pinnedLookup(addresses) });
        dial(target, callback);
      },
      (error: Error) => callback(error, null),
    );
  };
  return new Agent({ connect });
}

/** A net.connect lookup that answers only with addresses already checked (both of its calling styles). */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (_hostname, lookupOptions, callback) => {
    const wanted = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
    const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
    const first = usable[0];
    if (!first) {
      const error = Object.assign(new Error('no checked address of the wanted family'), {
        code: 'ENOTFOUND',
      });
      callback(error, '', 0);
      return;
    }
    if (lookupOptions.all) (callback as (e: null, all: LookupAddress[]) => void)(null, [...usable]);
    else callback(null, first.address, first.family);
  };
}
