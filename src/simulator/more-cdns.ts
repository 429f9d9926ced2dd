import { type AkamaiSimulator, startAkamaiSimulator } from './akamai.ts';
import { type CloudflareSimulator, startCloudflareSimulator } from './cloudflare.ts';
import {
  type CloudFrontSimulator,
  type CloudFrontSimulatorOptions,
  startCloudFrontSimulator,
} from './cloudfront.ts';
import { type FastlySimulator, startFastlySimulator } from './fastly.ts';
import { startVarnishNodes, type VarnishNodes } from './varnish.ts';

/**
 * Each CDN's port as an offset from the simulator's own (8787: CloudFront 8788 … Varnish 8792 and 8793), so
 * that a config file (examples/demo.json) can name them. Their wires overlap (Varnish takes any path, with
 * its own methods), so each is a server of its own rather than a path space on the VIMS/QUANTIL one.
 */
export const MORE_CDN_PORT_OFFSETS = {
  cloudfront: 1,
  fastly: 2,
  cloudflare: 3,
  akamai: 4,
  varnish: [5, 6],
} as const;

export interface MoreCdnsOptions {
  /** The VIMS/QUANTIL server's port: the others take the offsets above; 0 gives each a free port. */
  basePort: number;
  /** CloudFront's and Cloudflare's listen address (the rest bind loopback only, whatever this says). */
  host?: string;
  /** How long a CloudFront invalidation runs before Completed; the others finish at acceptance. */
  taskDurationMs?: number;
  /** CloudFront's distributions (default one, EDFDVBD632BHDS5, without a CacheTagConfig). */
  cloudfrontDistributions?: CloudFrontSimulatorOptions['distributions'];
}

/** The five CDNs beside VIMS and QUANTIL, with their simulators' default credentials. */
export interface MoreCdns {
  cloudfront: CloudFrontSimulator;
  fastly: FastlySimulator;
  cloudflare: CloudflareSimulator;
  akamai: AkamaiSimulator;
  varnish: VarnishNodes;
  close(): Promise<void>;
}

/** The highest offset: the last port the five take. */
export const MORE_CDN_PORT_SPAN = Math.max(...MORE_CDN_PORT_OFFSETS.varnish);

export async function startMoreCdns(options: MoreCdnsOptions): Promise<MoreCdns> {
  if (options.basePort !== 0 && options.basePort + MORE_CDN_PORT_SPAN > 65_535)
    throw new Error(
      `the simulated CDNs take ports ${options.basePort + 1}-${options.basePort + MORE_CDN_PORT_SPAN}, ` +
        `past 65535: pick a simulator port of at most ${65_535 - MORE_CDN_PORT_SPAN}`,
    );
  const port = (offset: number) => (options.basePort === 0 ? 0 : options.basePort + offset);
  const host = options.host ?? '127.0.0.1';
  const started: Array<{ close(): Promise<void> }> = [];
  const keep = <T extends { close(): Promise<void> }>(sim: T): T => {
    started.push(sim);
    return sim;
  };
  const closeAll = () => Promise.all(started.map((sim) => sim.close())).then(() => undefined);
  try {
    // One at a time: a taken port stops the start with that CDN's EADDRINUSE, and what did start is closed.
    const cloudfront = keep(
      await startCloudFrontSimulator({
        host,
        port: port(MORE_CDN_PORT_OFFSETS.cloudfront),
        ...(options.taskDurationMs === undefined ? {} : { invalidationDurationMs: options.taskDurationMs }),
        ...(options.cloudfrontDistributions ? { distributions: options.cloudfrontDistributions } : {}),
      }),
    );
    const fastly = keep(await startFastlySimulator({ port: port(MORE_CDN_PORT_OFFSETS.fastly) }));
    const cloudflare = keep(
      await startCloudflareSimulator({ host, port: port(MORE_CDN_PORT_OFFSETS.cloudflare) }),
    );
    const akamai = keep(await startAkamaiSimulator({ port: port(MORE_CDN_PORT_OFFSETS.akamai) }));
    const varnish = keep(await startVarnishNodes({ ports: MORE_CDN_PORT_OFFSETS.varnish.map(port) }));
    return { cloudfront, fastly, cloudflare, akamai, varnish, close: closeAll };
  } catch (error) {
    // The start's own error is the one to report, not a close that failed after it.
    await closeAll().catch(() => undefined);
    throw error;
  }
}
