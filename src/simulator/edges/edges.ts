/**
 * The simulator's edges as a whole: one origin (the site both CDNs front, also served on a loopback port so
 * a check can compare an edge's copy with it) and a fleet of edges per CDN, so a purge sent to one CDN
 * never freshens the other's caches.
 */
import { createServer, type Server } from 'node:http';
import { closeServer, listen } from '../listen.ts';
import {
  type Edge,
  type EdgeFleet,
  type EdgeFleetOptions,
  type StaleShieldOptions,
  startEdgeFleet,
} from './fleet.ts';
import { createOrigin, type Origin } from './origin.ts';

export interface EdgesOptions {
  /** Edges for each CDN, unless `vims` or `quantil` says otherwise. Default 0: no edges, no origin port. */
  count?: number;
  vims?: number;
  quantil?: number;
  now?: () => number;
  maxObjectsPerEdge?: number;
  maxLogEntries?: number;
}

export interface SimulatorOrigin extends Origin {
  /** `http://127.0.0.1:port` while any edge runs (GET/HEAD serve, PUT publishes); undefined otherwise. */
  readonly url: string | undefined;
}

export interface SimulatorEdges {
  readonly origin: SimulatorOrigin;
  readonly vims: EdgeFleet;
  readonly quantil: EdgeFleet;
  /** Every edge of both CDNs, VIMS's first. */
  readonly all: readonly Edge[];
  edge(id: string): Edge;
  missNextPurge(edgeId: string): void;
  /** For both CDNs' shields. */
  staleShield(on: boolean, options?: StaleShieldOptions): void;
  close(): Promise<void>;
}

const ORIGIN_IP = '127.0.0.1';

export async function startEdges(options: EdgesOptions = {}): Promise<SimulatorEdges> {
  const now = options.now ?? Date.now;
  const origin = createOrigin({ now });
  const shared: Omit<EdgeFleetOptions, 'name' | 'count'> = { origin, now };
  if (options.maxObjectsPerEdge !== undefined) shared.maxObjectsPerEdge = options.maxObjectsPerEdge;
  if (options.maxLogEntries !== undefined) shared.maxLogEntries = options.maxLogEntries;
  const count = options.count ?? 0;
  const fleets: EdgeFleet[] = [];
  let originServer: Server | undefined;
  let originUrl: string | undefined;
  const closeAll = async (): Promise<void> => {
    await Promise.all([
      ...fleets.map((fleet) => fleet.close()),
      ...(originServer ? [closeServer(originServer)] : []),
    ]);
  };

  try {
    fleets.push(await startEdgeFleet({ ...shared, name: 'vims', count: options.vims ?? count }));
    fleets.push(await startEdgeFleet({ ...shared, name: 'quantil', count: options.quantil ?? count }));
    if (fleets.some((fleet) => fleet.edges.length > 0)) {
      const server = createServer((req, res) => origin.handle(req, res));
      originServer = server;
      const { port } = await listen(server, 0, ORIGIN_IP);
      originUrl = `http://${ORIGIN_IP}:${port}`;
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  const [vims, quantil] = fleets as [EdgeFleet, EdgeFleet];
  const all = [...vims.edges, ...quantil.edges];
  const fleetOf = (edgeId: string): EdgeFleet => {
    const fleet = fleets.find((f) => f.edges.some((e) => e.id === edgeId));
    if (!fleet)
      throw new Error(`unknown edge ${edgeId} (edges: ${all.map((e) => e.id).join(', ') || 'none'})`);
    return fleet;
  };
  let closing: Promise<void> | undefined;

  return {
    origin: {
      current: origin.current,
      publish: origin.publish,
      handle: origin.handle,
      url: originUrl,
    },
    vims,
    quantil,
    all,
    edge: (edgeId) => fleetOf(edgeId).edge(edgeId),
    missNextPurge: (edgeId) => fleetOf(edgeId).missNextPurge(edgeId),
    staleShield(on, shieldOptions) {
      for (const fleet of fleets) fleet.staleShield(on, shieldOptions);
    },
    close() {
      closing ??= closeAll();
      return closing;
    },
  };
}
