import { isIP } from 'node:net';
import type { ListedEdge } from '../provider.ts';

/** A service as the VIMS services listing (`GET /api/services/cdn/`) gives it: only what edges need. */
export interface VimsListedService {
  id?: unknown;
  description?: string;
  sub_services?: Array<{
    type?: { name?: string };
    vm?: { id?: unknown; name?: string; networking?: Array<{ ip?: unknown; port?: unknown }> };
  }>;
}

/** Most edges taken from one listing: a hostile or broken answer cannot make a check ask thousands. */
export const MAX_LISTED_EDGES = 64;

/**
 * The CDN_HOSTs a purge of service `cdnId` reaches (all of them, or the one vm `target` names), one entry per
 * address. Pure; the listing is the CDN's answer, so anything that is not an IP address is left out rather
 * than resolved, and a `port` (the simulator's addition: real CDN hosts answer on the URL's) only when valid.
 */
export function edgesOfService(
  services: readonly VimsListedService[],
  cdnId: string,
  target: string,
): ListedEdge[] {
  const service = services.find((candidate) => String(candidate.id) === cdnId);
  const edges: ListedEdge[] = [];
  for (const sub of service?.sub_services ?? []) {
    if (sub.type?.name !== 'CDN_HOST' || !sub.vm) continue;
    if (target !== 'all' && String(sub.vm.id) !== target) continue;
    for (const network of sub.vm.networking ?? []) {
      if (typeof network.ip !== 'string' || isIP(network.ip) === 0) continue;
      const { port } = network;
      const validPort = typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 65_536;
      edges.push({
        address: network.ip,
        ...(validPort ? { port } : {}),
        ...(typeof sub.vm.name === 'string' ? { name: sub.vm.name.slice(0, 200) } : {}),
      });
      if (edges.length >= MAX_LISTED_EDGES) return edges;
    }
  }
  return edges;
}
