/**
 * Loopback Varnish cache nodes, each on its own port with its own cache, running the documented purge VCL
 * (users-guide "Purging and banning") plus the project's BAN header convention and vmod_xkey. There is no
 * API server: the worker talks to every node itself, so a test can fail, refuse or stop one node alone.
 */
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFaults, createRequestLog, type Faults, type Reply, type RequestLog, send } from './faults.ts';
import { createRawServer, type RawRequest } from './varnish-http.ts';
import { clientIp, NodeCache, parseKeys, type SynthReply, synth } from './varnish-wire.ts';

/** `submit` is every PURGE and BAN (what the worker sends); `get` is a client reading through the cache. */
export type VarnishOp = 'submit' | 'get';

export interface VarnishNodesOptions {
  /** Nodes to start (default 2), each on a free loopback port unless `ports` names one. */
  count?: number;
  /** Each node's port, by index (the demo's fixed addresses); a missing one or 0 is a free port. */
  ports?: readonly number[];
  /** `acl purge { ... }`: client addresses allowed to PURGE/BAN (default loopback, so the worker may). */
  acl?: readonly string[];
  /** A shared-secret header the VCL also checks (a VCL choice: inferred); unset, none is needed. */
  secret?: { header: string; value: string };
  /** Header a BAN carries its regex in (default `x-ban-url`, the project convention). */
  banHeader?: string;
  /** Request header an xkey PURGE carries its keys in: `xkey` (current docs) or `xkey-purge` (older). */
  xkeyHeader?: string;
  /** The old libvmod-xkey example: 200 "Purged", or 404 "Key not found" when nothing matched. */
  xkeyLegacy?: boolean;
  /**
   * false: a node without purge VCL, whose builtin vcl_recv pipes PURGE/BAN to the origin, which answers
   * `originStatus` (default 501; 405 is as likely: inferred).
   */
  purgeVcl?: boolean;
  originStatus?: number;
}

export interface VarnishNode extends RequestLog<VarnishOp> {
  readonly index: number;
  /** `http://127.0.0.1:<port>`: what a Varnish CDN entry lists as one of its nodes. */
  readonly url: string;
  readonly cache: NodeCache;
  readonly faults: Faults<VarnishOp>;
  /** Closes the listener: the node refuses connections until `start`. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface VarnishNodes {
  readonly nodes: readonly VarnishNode[];
  readonly urls: readonly string[];
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

export async function startVarnishNodes(options: VarnishNodesOptions = {}): Promise<VarnishNodes> {
  const nodes: VarnishNode[] = [];
  try {
    for (let index = 0; index < (options.count ?? 2); index += 1) nodes.push(await startNode(index, options));
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  return {
    nodes,
    urls: nodes.map((node) => node.url),
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
      for (const node of nodes) node.faults.dispose();
    },
  };
}

async function startNode(index: number, options: VarnishNodesOptions): Promise<VarnishNode> {
  const cache = new NodeCache();
  const faults = createFaults<VarnishOp>();
  const log = createRequestLog<VarnishOp>();
  const acl = new Set(options.acl ?? ['127.0.0.1', '::1']);
  const banHeader = (options.banHeader ?? 'x-ban-url').toLowerCase();
  const xkeyHeader = (options.xkeyHeader ?? 'xkey').toLowerCase();
  let xid = 32_768 + index * 1_000_000;
  const nextXid = (): number => {
    xid += 1;
    return xid;
  };

  function allowed(req: RawRequest): boolean {
    if (!acl.has(clientIp(req.remoteAddress))) return false;
    if (!options.secret) return true;
    return req.headers[options.secret.header.toLowerCase()] === options.secret.value;
  }

  function invalidate(req: RawRequest, commit: boolean): SynthReply {
    const id = nextXid();
    const method = req.method as 'PURGE' | 'BAN';
    const host = req.headers.host ?? '';
    const url = req.target;
    if (options.purgeVcl === false) {
      const status = options.originStatus ?? 501;
      const reason = status === 405 ? 'Method Not Allowed' : 'Not Implemented';
      return { status, reason, headers: { 'content-type': 'text/html' }, body: `<h1>${reason}</h1>` };
    }
    if (!allowed(req))
      return method === 'PURGE' ? synth(405, 'Not allowed.', id) : synth(403, 'Forbidden', id);
    if (method === 'BAN') {
      const source = req.headers[banHeader];
      if (typeof source !== 'string' || source === '') return synth(400, 'Missing ban expression', id);
      let regex: RegExp;
      try {
        regex = new RegExp(source);
      } catch {
        return synth(400, 'Bad ban regex', id);
      }
      if (commit) cache.ban(host, regex);
      return synth(200, 'Ban added', id);
    }
    const keys = req.headers[xkeyHeader];
    if (typeof keys === 'string') {
      const parsed = parseKeys(keys);
      const count = commit ? cache.purgeKeys(parsed) : 0;
      if (options.xkeyLegacy) return count === 0 ? synth(404, 'Key not found', id) : synth(200, 'Purged', id);
      return synth(200, `Invalidated ${count} objects`, id);
    }
    // vcl_purge runs after the lookup, cached or not: 200 Purged either way (inferred).
    if (commit) cache.purge(host, url);
    return synth(200, 'Purged', id);
  }

  function serve(req: RawRequest): Reply {
    const host = req.headers.host ?? '';
    const url = req.target;
    const hit = cache.has(host, url);
    if (!hit) cache.put(host, url);
    return {
      status: 200,
      headers: { 'content-type': 'text/plain', 'x-cache': hit ? 'HIT' : 'MISS' },
      body: `object ${url} of ${host}\n`,
    };
  }

  const raw = createRawServer((req, rawRes) => {
    const res = rawRes as unknown as ServerResponse;
    const method = req.method;
    const op: VarnishOp | 'unknown' =
      method === 'PURGE' || method === 'BAN'
        ? 'submit'
        : method === 'GET' || method === 'HEAD'
          ? 'get'
          : 'unknown';
    const ban = req.headers[banHeader];
    log.record({
      op,
      method,
      path: req.target,
      authorized: allowed(req),
      body: { host: req.headers.host, ...(typeof ban === 'string' ? { ban } : {}) },
      at: Date.now(),
    });
    if (op === 'unknown') {
      send(res, synth(501, 'Not Implemented', nextXid()));
      return;
    }
    faults.respond(op, res, (commit) => {
      if (op === 'get') return serve(req);
      const reply = invalidate(req, commit);
      res.statusMessage = reply.reason;
      return reply;
    });
  });

  const listenOn = (wanted: number): Promise<number> =>
    new Promise((resolve, reject) => {
      raw.server.once('error', reject);
      raw.server.listen(wanted, HOST, () => {
        raw.server.off('error', reject);
        resolve((raw.server.address() as AddressInfo).port);
      });
    });
  let port = await listenOn(options.ports?.[index] ?? 0);
  let running = true;
  return {
    index,
    url: `http://${HOST}:${port}`,
    cache,
    faults,
    requests: log.requests,
    events: log.events,
    waitForRequest: log.waitForRequest,
    async stop() {
      if (!running) return;
      running = false;
      await raw.close();
    },
    async start() {
      if (running) return;
      port = await listenOn(port);
      running = true;
    },
  };
}
