import { loadConfigFile } from '../config/load.ts';
import { describeRedis, redisHost } from '../queue/connection.ts';
import type { Role } from '../roles.ts';
import { MORE_CDN_PORT_SPAN, type MoreCdns, startMoreCdns } from '../simulator/more-cdns.ts';
import { DEFAULT_QUANTIL_ACCOUNT } from '../simulator/quantil.ts';
import { type Simulator, startSimulator } from '../simulator/server.ts';
import { describeSimulator, intFromEnv, simulatorSettings } from '../simulator/settings.ts';
import { DEFAULT_VIMS_TOKEN } from '../simulator/vims.ts';
import { type PrivateRedis, redisAnswers, startPrivateRedis } from './private-redis.ts';

/** A line the service logs once its logger exists (the demo is set up before the config is loaded). */
export interface DemoNote {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  msg: string;
}

/** What the demo runs beside the service, in its process, when no config was found (README Quick start). */
export interface Demo {
  /** Points the demo config (as read from the file) at what the demo started: the simulator, a Redis. */
  adjust(raw: unknown): unknown;
  notes: readonly DemoNote[];
  close(): Promise<void>;
}

/**
 * For the bundled demo config only, so that `npm start` on a fresh clone purges end to end in one terminal:
 * the CDN simulator in this process (as `npm run simulator` runs it, on 127.0.0.1, SIM_PORT or 8787, for the
 * demo's own credentials), and, when the demo's Redis does not answer and `redis-server` is on PATH, a
 * private one on a free loopback port. API_PORT moves the API off 8080. Never used for a config someone chose.
 */
export async function startDemo(options: {
  configPath: string;
  role: Role;
  env?: NodeJS.ProcessEnv;
}): Promise<Demo> {
  const env = options.env ?? process.env;
  const apiPort = env.API_PORT ? intFromEnv(env, 'API_PORT', 0) : undefined;
  const settings = simulatorSettings(env);
  const config = await loadConfigFile(options.configPath, env);
  const notes: DemoNote[] = [];
  let redis: PrivateRedis | undefined;
  let sim: Simulator | undefined;
  let more: MoreCdns | undefined;
  const close = async () => {
    await Promise.all([sim?.close(), more?.close(), redis?.stop()]);
  };
  try {
    const wanted = config.redis.url;
    if (!config.redis.clusterNodes && !(await redisAnswers(wanted))) {
      redis = await startPrivateRedis();
      if (redis)
        notes.push({
          level: 'warn',
          fields: { redis: redisHost(redis.url), redisPid: redis.pid },
          msg:
            `no Redis answers at ${describeRedis(config.redis)}: started a private redis-server for the demo on ` +
            `${redisHost(redis.url)} (nothing is kept, it stops with this process); the CLI reaches it with ` +
            `REDIS_URL=${redis.url}`,
        });
      else
        notes.push({
          level: 'warn',
          fields: { redis: describeRedis(config.redis) },
          msg: 'no redis-server on PATH to start a private one for the demo (install one, e.g. `apt install redis-server`)',
        });
    }
    // An API-only process calls no CDN: the simulator belongs to the one that runs the workers.
    if (options.role !== 'api') {
      sim = await startDemoSimulator(settings);
      more = await startDemoMoreCdns(settings);
      // One line per field even in pino-pretty: a person reads it at a terminal.
      const { edges, moreCdns } = describeSimulator(sim, more);
      const urls = (list: ReadonlyArray<{ url: string }>) => list.map(({ url }) => url).join(' ');
      notes.push({
        level: 'info',
        fields: {
          simulator: sim.url,
          vimsEdges: urls(edges.vims),
          quantilEdges: urls(edges.quantil),
          origin: edges.origin,
          taskDurationMs: settings.tasks.taskDurationMs,
        },
        msg: `demo: the CDN simulator (VIMS and QUANTIL) runs in this process on ${sim.url}`,
      });
      notes.push({
        level: 'info',
        fields: {
          cloudfront: moreCdns.cloudfront,
          fastly: moreCdns.fastly,
          cloudflare: moreCdns.cloudflare,
          akamai: moreCdns.akamai,
          varnishNodes: moreCdns.varnish.join(' '),
        },
        msg: 'demo: CloudFront, Fastly, Cloudflare, Akamai and two Varnish nodes are simulated in this process too',
      });
    }
  } catch (error) {
    await close();
    throw error;
  }
  const simulatorUrls = sim && more ? demoBaseUrls(sim, more) : undefined;
  const redisUrl = redis?.url;
  return {
    adjust: (raw) => withDemoAddresses(raw, { simulatorUrls, redisUrl, apiPort }),
    notes,
    close,
  };
}

async function startDemoSimulator(settings: ReturnType<typeof simulatorSettings>): Promise<Simulator> {
  try {
    return await startSimulator({
      host: '127.0.0.1',
      port: settings.port,
      // The demo config's own credentials (examples/demo.json), whatever SIM_VIMS_TOKEN and the like say.
      vims: { tokens: [DEFAULT_VIMS_TOKEN], ...settings.tasks },
      quantil: { accounts: [DEFAULT_QUANTIL_ACCOUNT], ...settings.tasks },
      edges: { count: settings.edgeCount },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    throw new Error(
      `the demo's CDN simulator cannot listen on 127.0.0.1:${settings.port}, which is in use (a \`npm run simulator\` ` +
        'still running?): stop what holds it, or set SIM_PORT to a free port',
    );
  }
}

async function startDemoMoreCdns(settings: ReturnType<typeof simulatorSettings>): Promise<MoreCdns> {
  try {
    return await startMoreCdns({ basePort: settings.port, taskDurationMs: settings.tasks.taskDurationMs });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    const last = settings.port + MORE_CDN_PORT_SPAN;
    throw new Error(
      `the demo's simulated CDNs need 127.0.0.1:${settings.port + 1}-${last}, and one of them is in use ` +
        '(a `npm run simulator` still running?): stop what holds it, or set SIM_PORT to a free port',
    );
  }
}

/** Where the demo config's entries go, by provider: the fields of an entry that name its addresses. */
type DemoAddresses = Record<string, Record<string, unknown>>;

function demoBaseUrls(sim: Simulator, more: MoreCdns): DemoAddresses {
  const [varnishBase, ...varnishNodes] = more.varnish.urls;
  return {
    vims: { baseUrl: sim.url },
    quantil: { baseUrl: sim.url },
    cloudfront: { baseUrl: more.cloudfront.url },
    fastly: { baseUrl: more.fastly.url },
    cloudflare: { baseUrl: more.cloudflare.url },
    akamai: { baseUrl: more.akamai.url },
    varnish: { baseUrl: varnishBase, nodes: varnishNodes },
  };
}

/** The demo config with the addresses of what the demo started in place of the file's. */
function withDemoAddresses(
  raw: unknown,
  to: { simulatorUrls: DemoAddresses | undefined; redisUrl: string | undefined; apiPort: number | undefined },
): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const root = { ...(raw as Record<string, unknown>) };
  const urls = to.simulatorUrls;
  if (urls && Array.isArray(root.cdns))
    root.cdns = root.cdns.map((cdn: unknown) => {
      if (cdn === null || typeof cdn !== 'object') return cdn;
      const provider = (cdn as { provider?: unknown }).provider;
      const addresses = typeof provider === 'string' ? urls[provider] : undefined;
      return addresses ? { ...cdn, ...addresses } : cdn;
    });
  if (to.redisUrl) root.redis = { ...asObject(root.redis), url: to.redisUrl };
  if (to.apiPort !== undefined) root.api = { ...asObject(root.api), port: to.apiPort };
  return root;
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
