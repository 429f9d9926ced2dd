import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jsonReply, send } from './faults.ts';
import { createQuantilSimulator, type QuantilOptions, type QuantilSimulator } from './quantil.ts';
import { createVimsSimulator, type VimsOptions, type VimsSimulator } from './vims.ts';

export interface SimulatorOptions {
  /** Loopback by default: the simulator accepts any client and must not be reachable from elsewhere. */
  host?: string;
  /** 0 picks a free port, so parallel test files never collide. */
  port?: number;
  vims?: VimsOptions;
  quantil?: QuantilOptions;
}

export interface Simulator {
  url: string;
  vims: VimsSimulator;
  quantil: QuantilSimulator;
  close(): Promise<void>;
}

/** What a provider simulator offers the server: a path space it owns, a handler, and teardown. */
interface Mount {
  ownsPath(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  dispose(): void;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const vims = createVimsSimulator(options.vims ?? {});
  const quantil = createQuantilSimulator(options.quantil ?? {});
  // VIMS owns /api/services/cdn/..., /api/tasks/... and /api/task/...; QUANTIL owns /api/purge and
  // /api/purge/.... The path spaces are disjoint, so order does not matter.
  const mounts: Mount[] = [vims, quantil];

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
    const mount = mounts.find((m) => m.ownsPath(pathname));
    if (mount) mount.handle(req, res);
    else send(res, jsonReply(404, { status: 'error', message: 'not found' }));
  });

  const address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    vims,
    quantil,
    close() {
      closing ??= new Promise((resolve) => {
        for (const mount of mounts) mount.dispose();
        server.close(() => resolve());
        // Stalled and held requests would otherwise keep close() waiting forever.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
