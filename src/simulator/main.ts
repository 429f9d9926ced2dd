import { DEFAULT_QUANTIL_ACCOUNT } from './quantil.ts';
import { startSimulator } from './server.ts';
import { DEFAULT_VIMS_TOKEN } from './vims.ts';

function log(stream: NodeJS.WriteStream, fields: Record<string, unknown>): void {
  stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

async function main(): Promise<void> {
  const port = intFromEnv('SIM_PORT', 8787);
  const taskDurationMs = intFromEnv('SIM_TASK_MS', 3000);
  const host = process.env.SIM_HOST || '127.0.0.1';
  const token = process.env.SIM_VIMS_TOKEN || DEFAULT_VIMS_TOKEN;
  const quantilUser = process.env.SIM_QUANTIL_USER || DEFAULT_QUANTIL_ACCOUNT.user;
  const quantilKey = process.env.SIM_QUANTIL_KEY || DEFAULT_QUANTIL_ACCOUNT.apiKey;
  // Per CDN: two VIMS edges (its CDN_HOSTs) and two QUANTIL edges by default, each on a free loopback port,
  // so the demo's purges are verified at the edge (examples/demo.json); SIM_EDGES=0 runs none.
  const edgeCount = intFromEnv('SIM_EDGES', 2);

  const sim = await startSimulator({
    host,
    port,
    vims: { tokens: [token], taskDurationMs },
    quantil: { accounts: [{ user: quantilUser, apiKey: quantilKey }], taskDurationMs },
    edges: { count: edgeCount },
  });
  // The VIMS token and QUANTIL key are deliberately absent: credentials even when they are demo ones.
  log(process.stdout, {
    msg: 'simulator listening',
    url: sim.url,
    providers: ['vims', 'quantil'],
    quantilUser,
    vimsServices: sim.vims.services.map((s) => ({ id: s.id, hosts: s.hosts.map((h) => h.vmId) })),
    taskDurationMs,
    edges: {
      vims: sim.edges.vims.addresses().map(({ id, url }) => ({ id, url })),
      quantil: sim.edges.quantil.addresses().map(({ id, url }) => ({ id, url })),
      origin: sim.edges.origin.url ?? null,
    },
  });

  // process.on, not once: a Ctrl-C under `npm run simulator` arrives twice (the terminal's and npm's), and
  // the second, with no listener left, would kill the process before it has closed.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => log(process.stdout, { msg: 'simulator stopped', signal }),
      (error: unknown) => {
        log(process.stderr, { msg: 'simulator stop failed', error: String(error) });
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  log(process.stderr, {
    msg: 'simulator failed to start',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exitCode = 1;
});
