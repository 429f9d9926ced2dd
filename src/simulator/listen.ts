import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Resolves once `server` listens (port 0 picks a free one), rejects if it cannot bind. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Closes `server`, cutting the connections it still holds (keep-alive, stalled) so close cannot hang. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
