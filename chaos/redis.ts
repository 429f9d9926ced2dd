import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../test/harness/redis-server.ts';

const run = promisify(execFile);

export type Fsync = 'everysec' | 'always';

/** A redis-server the rig owns: killed with SIGKILL and started again on the same port and data dir. */
interface RedisNode {
  port: number;
  running(): boolean;
  kill(): Promise<void>;
  start(): Promise<void>;
}

async function cli(port: number, ...args: string[]): Promise<string> {
  return (await run('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 })).stdout.trim();
}

/** Waits (bounded) until the node answers PONG: not while it still replays its AOF (LOADING). */
async function waitForPong(port: number, timeoutMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const answer = await cli(port, 'ping').catch(() => '');
    if (answer === 'PONG') return;
    if (Date.now() > giveUpAt) throw new Error(`redis on ${port} did not answer PONG within ${timeoutMs} ms`);
    await sleep(50); // a process starting to listen: nothing to wait on but its port
  }
}

function redisNode(port: number, args: string[]): RedisNode {
  let child: ChildProcess | undefined;
  return {
    port,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async kill() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...args], {
        stdio: 'ignore',
      });
      await waitForPong(port);
    },
  };
}

/** The AOF settings every node runs with: the durability a 202 rests on, per `fsync`. */
function persistence(dir: string, fsync: Fsync): string[] {
  return ['--dir', dir, '--appendonly', 'yes', '--appendfsync', fsync, '--save', ''];
}

export interface SingleRedis {
  url: string;
  fsync: Fsync;
  /** SIGKILL, then a fresh process on the same port that replays the AOF. */
  crashAndRestart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSingleRedis(fsync: Fsync): Promise<SingleRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-chaos-redis-'));
  const node = redisNode(await freePort(), persistence(dir, fsync));
  await node.start();
  return {
    url: `redis://127.0.0.1:${node.port}`,
    fsync,
    async crashAndRestart(downMs) {
      await node.kill();
      await sleep(downMs); // the outage itself: how long clients see no Redis
      await node.start();
    },
    async stop() {
      await node.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface ReplicatedCluster {
  /** Seed URLs of every node, for `redis.clusterNodes`. */
  seeds: string[];
  /**
   * SIGKILLs the master serving `key`'s slot and waits (bounded) until one of its replicas has taken the
   * slot over; then starts the old master again, which rejoins as a replica. Returns the ports.
   */
  failOver(key: string): Promise<{ killed: number; promoted: number }>;
  stop(): Promise<void>;
}

/** Node timeout: how long a master is silent before its replica takes over. */
const CLUSTER_NODE_TIMEOUT_MS = 1_000;

/** Three masters and three replicas (`--cluster-replicas 1`), AOF on, on free loopback ports. */
export async function startReplicatedCluster(fsync: Fsync): Promise<ReplicatedCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-chaos-cluster-'));
  const nodes: RedisNode[] = [];
  for (let index = 0; index < 6; index++) {
    const port = await freePort();
    // The bus port is chosen too: its default, port + 10000, is past 65535 for a high port.
    const busPort = await freePort();
    const nodeDir = join(dir, String(port));
    await run('mkdir', ['-p', nodeDir]);
    nodes.push(
      redisNode(port, [
        ...persistence(nodeDir, fsync),
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout',
        String(CLUSTER_NODE_TIMEOUT_MS),
      ]),
    );
  }
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(nodes.map((node) => node.start()));
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((node) => `127.0.0.1:${node.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitForClusterOk(nodes.map((node) => node.port));
    return {
      seeds: nodes.map((node) => `redis://127.0.0.1:${node.port}`),
      async failOver(key) {
        const alive = nodes.filter((node) => node.running());
        const slot = Number(await cli(alive[0]?.port ?? 0, 'cluster', 'keyslot', key));
        const killed = await masterOf(slot, alive);
        const victim = nodes.find((node) => node.port === killed);
        if (!victim) throw new Error(`no node on port ${killed}`);
        await victim.kill();
        const survivors = nodes.filter((node) => node.running());
        const promoted = await waitForNewMaster(slot, killed, survivors);
        await victim.start();
        return { killed, promoted };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The port of the master serving `slot`, as the first node that answers sees it. */
async function masterOf(slot: number, nodes: readonly RedisNode[]): Promise<number> {
  for (const node of nodes) {
    const answer = await cli(node.port, 'cluster', 'nodes').catch(() => '');
    for (const line of answer.split('\n')) {
      const fields = line.split(' ');
      const flags = fields[2] ?? '';
      if (!flags.includes('master') || flags.includes('fail')) continue;
      const served = fields.slice(8).some((range) => {
        const [from, to] = range.split('-').map(Number);
        return from !== undefined && slot >= from && slot <= (to ?? from);
      });
      const port = Number(/:(\d+)@/.exec(fields[1] ?? '')?.[1]);
      if (served && Number.isInteger(port)) return port;
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

async function waitForNewMaster(slot: number, old: number, nodes: readonly RedisNode[]): Promise<number> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const master = await masterOf(slot, nodes).catch(() => old);
    if (master !== old) {
      await waitForClusterOk(nodes.map((node) => node.port));
      return master;
    }
    if (Date.now() > giveUpAt) throw new Error(`no replica took slot ${slot} over from port ${old}`);
    await sleep(100); // the failure detection and election: gossip, nothing to subscribe to
  }
}

async function waitForClusterOk(ports: readonly number[]): Promise<void> {
  const giveUpAt = Date.now() + 30_000;
  for (;;) {
    const states = await Promise.all(ports.map((port) => cli(port, 'cluster', 'info').catch(() => '')));
    if (states.every((info) => info.includes('cluster_state:ok'))) return;
    if (Date.now() > giveUpAt) throw new Error('the cluster did not reach cluster_state:ok');
    await sleep(100); // gossip settling
  }
}
