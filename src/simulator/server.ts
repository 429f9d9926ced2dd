import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type EdgesOptions, type SimulatorEdges, startEdges } from './edges/edges.ts';
import { jsonReply, send } from './faults.ts';
import { closeServer, listen } from './listen.ts';
import { createQuantilSimulator, type QuantilOptions, type QuantilSimulator } from './quantil.ts';
import { createVimsSimulator, edgeServices, type VimsOptions, type VimsSimulator } from './vims.ts';

export interface SimulatorOptions {
  /** Loopback by default: the simulator accepts any client and must not be reachable from elsewhere. */
  host?: string;
  /** 0 picks a free port, so parallel test files never collide. */
  port?: number;
  vims?: VimsOptions;
  quantil?: QuantilOptions;
  /**
   * Caching edges per CDN on loopback ports (none by default). VIMS lists its edges as the CDN_HOSTs of
   * service 101 (unless `vims.services` is given); QUANTIL has no listing, so `edges.quantil.addresses()`.
   */
  edges?: EdgesOptions;
}

export interface Simulator {
  url: string;
  vims: VimsSimulator;
  quantil: QuantilSimulator;
  /** Always present; its fleets are empty unless `edges` asked for some. */
  edges: SimulatorEdges;
  close(): Promise<void>;
}

/** What a provider simulator offers the server: a path space it owns, a handler, and teardown. */
interface Mount {
  ownsPath(pathname: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
  dispose(): void;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const edges = await startEdges(options.edges ?? {});
  const vimsEdges = edges.vims.addresses();
  const vimsOptions: VimsOptions = { ...options.vims, edges: edges.vims };
  if (options.vims?.services === undefined && vimsEdges.length > 0)
    vimsOptions.services = edgeServices(vimsEdges);
  const vims = createVimsSimulator(vimsOptions);
  const quantil = createQuantilSimulator({ ...options.quantil, edges: edges.quantil });
  // VIMS owns /api/services/cdn/..., /api/tasks/... and /api/task/...; QUANTIL owns /api/purge and
  // /api/purge/.... The path spaces are disjoint, so order does not matter.
  const mounts: Mount[] = [vims, quantil];

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://simulator').pathname;
    const mount = mounts.find((m) => m.ownsPath(pathname));
    if (mount) mount.handle(req, res);
    else send(res, jsonReply(404, { status: 'error', message: 'not found' }));
  });

  let address: Awaited<ReturnType<typeof listen>>;
  try {
    address = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  } catch (error) {
    await edges.close();
    throw error;
  }
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${host}:${address.port}`,
    vims,
    quantil,
    edges,
    close() {
      closing ??= (async () => {
        for (const mount of mounts) mount.dispose();
        // Stalled and held requests would otherwise keep close() waiting forever: closeServer cuts them.
        await Promise.all([closeServer(server), edges.close()]);
      })();
      return closing;
    },
  };
}
