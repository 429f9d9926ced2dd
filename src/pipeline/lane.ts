import type { RouteConfig } from '../config/schema.ts';
import { PRIORITIES, type Priority, type PurgeRequest } from '../model/purge.ts';
import { hostMatches } from './route.ts';

/**
 * The lane a purge goes in: the one it asks for; else its source's default (a webhook's); else the most
 * urgent default of the routes its hosts match; else normal. A purge has one lane for all its CDNs, so a
 * takedown naming an urgent host is never held back by the other hosts it names.
 */
export function laneOf(
  request: PurgeRequest,
  routes: readonly RouteConfig[],
  sourceDefault?: Priority,
): Priority {
  if (request.priority) return request.priority;
  if (sourceDefault) return sourceDefault;
  const hosts = new Set(
    [...(request.urls ?? []), ...(request.dirs ?? [])].map((url) => new URL(url).hostname),
  );
  let lane: Priority | undefined;
  for (const route of routes) {
    if (!route.priority) continue;
    if (lane && PRIORITIES.indexOf(route.priority) >= PRIORITIES.indexOf(lane)) continue;
    if ([...hosts].some((host) => route.hosts.some((pattern) => hostMatches(pattern, host))))
      lane = route.priority;
  }
  return lane ?? 'normal';
}
