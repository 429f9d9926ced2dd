import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Child, REPO_ROOT, spawnCommand } from '../harness/child.ts';
import { jsonLines } from '../harness/log-lines.ts';
import { isRunning } from '../harness/process-tree.ts';
import { onPath, requireTool } from '../harness/requirement.ts';
import { closedPort } from '../harness/unreachable-redis.ts';

const hasRedisServer = requireTool(
  onPath('redis-server'),
  'demo in one process',
  'no redis-server on PATH (apt-get install redis-server)',
);
const DEMO_TOKEN = 'demo-api-token-change-me';
const MAIN = join(REPO_ROOT, 'src/main.ts');

let service: Child | undefined;
let holder: Server | undefined;
afterEach(() => {
  service?.process.kill('SIGKILL');
  holder?.close();
});

/** `npm start`'s entry, from a directory with no config of its own, on free ports, fast CDN tasks. */
function startInEmptyDirectory(cwd: string, env: Record<string, string | undefined>): Child {
  service = spawnCommand(process.execPath, [MAIN], {
    cwd,
    env: { PURGE_CONFIG: undefined, LOG_LEVEL: undefined, SIM_TASK_MS: '100', API_PORT: '0', ...env },
  });
  return service;
}

describe.skipIf(!hasRedisServer)('npm start with no config: the bundled demo', () => {
  let emptyDir: string;
  let deadRedis: string;
  beforeAll(async () => {
    emptyDir = await mkdtemp(join(tmpdir(), 'pw-demo-'));
    deadRedis = `redis://127.0.0.1:${await closedPort()}`;
  });

  it('runs the simulator and a private Redis in its process: the README curl purge succeeds, verified', async () => {
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: '0' });
    await demo.printed('purge-worker started');
    const lines = jsonLines(demo.output());
    const started = lines.find((line) => line.msg === 'purge-worker started');
    const privateRedis = lines.find((line) => String(line.msg).includes('started a private redis-server'));
    expect(privateRedis?.msg).toContain(`no Redis answers at ${deadRedis.slice('redis://'.length)}`);
    expect(started?.redis).toBe(privateRedis?.redis);
    expect(lines.some((line) => String(line.msg).startsWith('demo: the CDN simulator'))).toBe(true);

    const api = String(started?.address);
    const headers = { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' };
    const accepted = await fetch(`${api}/v1/purges`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ urls: ['https://www.example.com/news/today.html'] }),
    });
    expect(accepted.status).toBe(202);
    const { id } = (await accepted.json()) as { id: string };
    await vi.waitFor(
      async () => {
        const status = await (await fetch(`${api}/v1/purges/${id}`, { headers })).json();
        expect(status).toMatchObject({ state: 'succeeded', verified: true });
      },
      { timeout: 20_000, interval: 200 },
    );

    demo.process.kill('SIGTERM');
    expect(await demo.exited()).toBe(0);
    expect(isRunning(Number(privateRedis?.redisPid))).toBe(false);
  });

  it('also runs CloudFront, Fastly, Cloudflare, Akamai and Varnish: a purge of their host and one of tags succeed', async () => {
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: '0' });
    await demo.printed('purge-worker started');
    const lines = jsonLines(demo.output());
    expect(lines.some((line) => String(line.msg).startsWith('demo: CloudFront, Fastly'))).toBe(true);
    const api = String(lines.find((line) => line.msg === 'purge-worker started')?.address);
    const headers = { authorization: `Bearer ${DEMO_TOKEN}`, 'content-type': 'application/json' };
    const purge = async (body: unknown) => {
      const accepted = await fetch(`${api}/v1/purges`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
      });
      expect(accepted.status).toBe(202);
      return (await accepted.json()) as { id: string; cdns: string[] };
    };
    const media = await purge({ urls: ['https://media.example.com/video/1.mp4'] });
    expect(media.cdns).toEqual([
      'cloudfront-demo',
      'fastly-demo',
      'cloudflare-demo',
      'akamai-demo',
      'varnish-demo',
    ]);
    const tags = await purge({ tags: ['article-42'] });
    // The demo CDNs that have tags (its CloudFront distribution has no CacheTagConfig): these and no other.
    expect([...tags.cdns].sort()).toEqual(['akamai-demo', 'cloudflare-demo', 'fastly-demo']);
    for (const { id, cdns } of [media, tags])
      await vi.waitFor(
        async () => {
          const status = (await (await fetch(`${api}/v1/purges/${id}`, { headers })).json()) as {
            state: string;
            batches: Array<{ cdnId: string; state: string }>;
          };
          expect(status.state).toBe('succeeded');
          expect(status.batches.map((batch) => batch.cdnId).sort()).toEqual([...cdns].sort());
        },
        { timeout: 20_000, interval: 200 },
      );
    demo.process.kill('SIGTERM');
    expect(await demo.exited()).toBe(0);
  });

  it('stops, once started, on a SIGTERM sent while it was starting, and leaves no redis-server behind', async () => {
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: '0' });
    // Logged before the API listens: the signal lands in the middle of the start.
    await demo.printed('started a private redis-server');
    demo.process.kill('SIGTERM');
    expect(await demo.exited()).toBe(0);
    const lines = jsonLines(demo.output());
    expect(lines.map((line) => line.msg)).toContain('stopped');
    const privateRedis = lines.find((line) => String(line.msg).includes('started a private redis-server'));
    expect(isRunning(Number(privateRedis?.redisPid))).toBe(false);
  });

  it('takes its private Redis with it when its terminal hangs up (SIGHUP, which runs no exit listener)', async () => {
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: '0' });
    await demo.printed('purge-worker started');
    const privateRedis = jsonLines(demo.output()).find((line) =>
      String(line.msg).includes('started a private redis-server'),
    );
    expect(isRunning(Number(privateRedis?.redisPid))).toBe(true);
    demo.process.kill('SIGHUP');
    await demo.exited();
    expect(demo.process.signalCode).toBe('SIGHUP');
    await vi.waitFor(() => expect(isRunning(Number(privateRedis?.redisPid))).toBe(false));
  });

  it('takes its private Redis with it even when it is SIGKILLed (no listener of its own runs then)', async () => {
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: '0' });
    await demo.printed('purge-worker started');
    const privateRedis = jsonLines(demo.output()).find((line) =>
      String(line.msg).includes('started a private redis-server'),
    );
    const pid = Number(privateRedis?.redisPid);
    expect(isRunning(pid)).toBe(true);
    demo.process.kill('SIGKILL');
    await demo.exited();
    await vi.waitFor(() => expect(isRunning(pid)).toBe(false), { timeout: 5_000, interval: 50 });
  });

  it('says which port to free, or SIM_PORT, when the simulator port is taken, and exits 2', async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder?.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const demo = startInEmptyDirectory(emptyDir, { REDIS_URL: deadRedis, SIM_PORT: String(port) });
    expect(await demo.exited()).toBe(2);
    expect(demo.output()).toContain(`cannot listen on 127.0.0.1:${port}, which is in use`);
    expect(demo.output()).toContain('set SIM_PORT to a free port');
  });

  it('is never what a named config gets: the same file as PURGE_CONFIG starts no simulator and no Redis', async () => {
    const copy = join(emptyDir, 'named-demo.json');
    await writeFile(copy, await readFile(join(REPO_ROOT, 'examples/demo.json')));
    const named = startInEmptyDirectory(emptyDir, {
      REDIS_URL: deadRedis,
      PURGE_CONFIG: copy,
      SIM_PORT: '0',
    });
    await named.printed('purge-worker started');
    await named.printed('does not answer');
    expect(named.output()).not.toContain('demo: the CDN simulator');
    expect(named.output()).not.toContain('private redis-server');
    expect(named.output()).not.toContain('running the bundled demo');
    const started = jsonLines(named.output()).find((line) => line.msg === 'purge-worker started');
    expect(started?.redis).toBe(deadRedis.slice('redis://'.length));
  });
});

describe('npm start with no config, no Redis and no redis-server', () => {
  it('runs the demo all the same, saying once how to get a Redis', async () => {
    const emptyDir = await mkdtemp(join(tmpdir(), 'pw-demo-'));
    const dead = `127.0.0.1:${await closedPort()}`;
    // node is run by its path: a PATH with nothing on it only hides redis-server.
    const demo = startInEmptyDirectory(emptyDir, {
      REDIS_URL: `redis://${dead}`,
      SIM_PORT: '0',
      PATH: '/nonexistent',
    });
    await demo.printed('purge-worker started');
    await demo.printed(`Redis at ${dead} does not answer`);
    expect(demo.output()).toContain('no redis-server on PATH to start a private one for the demo');
    const hints = jsonLines(demo.output()).filter((line) =>
      String(line.msg).includes('docker compose up -d redis'),
    );
    expect(hints).toHaveLength(1);
    expect(hints[0]?.msg).toContain('REDIS_URL');
  });
});
