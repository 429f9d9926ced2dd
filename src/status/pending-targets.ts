import type { PurgeTarget } from '../model/purge.ts';

/**
 * How a target waits in a CDN's pending set: a kind letter, a space and the canonical value. One string per
 * target, so one set can hold every kind, and the same URL from two purges is one member.
 */
export function pendingMembers(target: PurgeTarget): string[] {
  if (target.all) return ['a'];
  const members = [
    ...target.urls.map((url) => `u ${url}`),
    ...target.dirs.map((dir) => `d ${dir}`),
    ...(target.tags ?? []).map((tag) => `t ${tag}`),
  ];
  if (target.pattern !== undefined) members.push(`p ${target.pattern}`);
  return members;
}

/** A batch's target as take.lua stored it (Lua's JSON writes an empty list as `{}`). */
export function readBatchTarget(json: string): PurgeTarget {
  const raw = JSON.parse(json) as {
    urls?: unknown;
    dirs?: unknown;
    tags?: unknown;
    pattern?: unknown;
    all?: unknown;
  };
  const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);
  const tags = list(raw.tags);
  return {
    urls: list(raw.urls),
    dirs: list(raw.dirs),
    ...(tags.length > 0 ? { tags } : {}),
    ...(typeof raw.pattern === 'string' ? { pattern: raw.pattern } : {}),
    ...(raw.all === true ? { all: true } : {}),
  };
}

/** The target a list of pending members (as pendingMembers writes them) makes up. */
export function targetOfMembers(members: readonly string[]): PurgeTarget {
  const target: PurgeTarget = { urls: [], dirs: [] };
  const tags: string[] = [];
  for (const member of members) {
    const value = member.slice(2);
    if (member === 'a') target.all = true;
    else if (member.startsWith('u ')) target.urls.push(value);
    else if (member.startsWith('d ')) target.dirs.push(value);
    else if (member.startsWith('t ')) tags.push(value);
    else if (member.startsWith('p ')) target.pattern = value;
  }
  if (tags.length > 0) target.tags = tags;
  return target;
}
