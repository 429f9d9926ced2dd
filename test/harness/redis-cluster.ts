import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster, type RedisOptions } from 'ioredis';
import { freePort } from './redis-server.ts';
import { type TlsFiles, tlsServerArgs } from './tls-certificates.ts';

const run = promisify(execFile);

export interface RedisClusterHandle {
  /** `redis://127.0.0.1:<port>`, or `rediss://` for a TLS cluster; never with the password. */
  nodes: string[];
  /** Runs redis-cli against one node, with the cluster's TLS and password. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Adds a node as a replica of the master on `masterPort`; resolves once its link is up. */
  addReplica(masterPort: number): Promise<ClusterReplica>;
  stop(): Promise<void>;
}

export interface ClusterReplica {
  port: number;
  /** SIGSTOP: connected, but acknowledging nothing. */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
}

export interface RedisClusterOptions {
  /** Serve TLS only (no plaintext port), on the client, cluster bus and replication links alike. */
  tls?: TlsFiles;
  /** `requirepass` (and `masterauth`) of every node. */
  password?: string;
}

/** Whether this machine can start a throwaway cluster (redis-server and redis-cli on PATH). */
export async function canStartCluster(): Promise<boolean> {
  try {
    await run('redis-server', ['--version']);
    await run('redis-cli', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Three masters on free loopback ports, joined with redis-cli, waited on until every slot is served. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  // The bus port is chosen too: its default, port + 10000, is past 65535 for a port above 55535.
  const busPorts = [await freePort(), await freePort(), await freePort()];
  const { tls, password } = options;
  const cliArgs = [
    ...(tls ? ['--tls', '--cacert', tls.caFile] : []),
    ...(password ? ['-a', password, '--no-auth-warning'] : []),
  ];
  const cli = async (port: number, ...args: string[]) =>
    (await run('redis-cli', [...cliArgs, '-p', String(port), ...args])).stdout;
  const startNode = (port: number, busPort: number) =>
    spawn(
      'redis-server',
      [
        ...(tls
          ? [...tlsServerArgs(tls, port), '--tls-cluster', 'yes', '--tls-replication', 'yes']
          : ['--port', String(port)]),
        ...(password ? ['--requirepass', password, '--masterauth', password] : []),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
  const children: ChildProcess[] = ports.map((port, index) => startNode(port, busPorts[index] as number));
  const stop = async () => {
    await Promise.all(children.map(stopChild));
  };
  const addReplica = async (masterPort: number): Promise<ClusterReplica> => {
    const port = await freePort();
    const child = startNode(port, await freePort());
    children.push(child);
    await waitForPing(() => cli(port, 'ping'));
    const masterId = (await cli(masterPort, 'cluster', 'myid')).trim();
    // Redis otherwise waits 5 s for more replicas to share the first (diskless) sync.
    await cli(masterPort, 'config', 'set', 'repl-diskless-sync-delay', '0');
    await run('redis-cli', [
      ...cliArgs,
      '--cluster',
      'add-node',
      `127.0.0.1:${port}`,
      `127.0.0.1:${masterPort}`,
      '--cluster-slave',
      '--cluster-master-id',
      masterId,
    ]);
    for (let tries = 0; ; tries++) {
      const info = await cli(masterPort, 'info', 'replication');
      if (new RegExp(`slave\\d+:ip=127\\.0\\.0\\.1,port=${port},state=online`).test(info)) break;
      if (tries > 200) throw new Error(`replica on ${port} did not come online:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the first sync; nothing to wait on
    }
    const signal = (name: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(name);
    };
    return { port, pause: () => signal('SIGSTOP'), resume: () => signal('SIGCONT') };
  };
  try {
    for (const port of ports) await waitForPing(() => cli(port, 'ping'));
    await run('redis-cli', [
      ...cliArgs,
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const nodes = ports.map((port) => `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`);
    await waitForClusterOk(ports, {
      ...(tls ? { tls: { ca: await readFile(tls.caFile) } } : {}),
      ...(password ? { password } : {}),
    });
    return { nodes, cli, addReplica, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForPing(ping: () => Promise<string>): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      if ((await ping()).trim() !== 'PONG') throw new Error('not ready');
      return;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50)); // waiting for a process to start listening
    }
  }
}

async function waitForClusterOk(ports: number[], redisOptions: RedisOptions): Promise<void> {
  const client = new Cluster(
    ports.map((port) => ({ host: '127.0.0.1', port })),
    { redisOptions },
  );
  try {
    for (let tries = 0; ; tries++) {
      const info = String(await client.cluster('INFO'));
      if (info.includes('cluster_state:ok')) return;
      if (tries > 100) throw new Error(`cluster did not become ready:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, 100)); // gossip settling; nothing to wait on
    }
  } finally {
    client.disconnect();
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A paused (SIGSTOPped) node would hold SIGTERM until continued.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  return exited;
}
