import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Cluster } from 'ioredis';
import { freePort } from './redis-server.ts';

const run = promisify(execFile);

export interface RedisClusterHandle {
  nodes: string[];
  stop(): Promise<void>;
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
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-cluster-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      'redis-server',
      [
        '--port',
        String(port),
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
    ),
  );
  const stop = async () => {
    await Promise.all(children.map(stopChild));
  };
  try {
    for (const port of ports) await waitForPing(port);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const nodes = ports.map((port) => `redis://127.0.0.1:${port}`);
    await waitForClusterOk(ports);
    return { nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitForPing(port: number): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await run('redis-cli', ['-p', String(port), 'ping']);
      return;
    } catch (error) {
      if (tries > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50)); // waiting for a process to start listening
    }
  }
}

async function waitForClusterOk(ports: number[]): Promise<void> {
  const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })));
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
  if (child.exitCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  return exited;
}
