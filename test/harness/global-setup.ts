import type { TestProject } from 'vitest/node';
import { acquireRedis } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = await acquireRedis();
  process.stdout.write(`test Redis: ${redis.source} at ${redis.url}\n`);
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
  };
}
