import { startMoreCdns } from './more-cdns.ts';
import { DEFAULT_QUANTIL_ACCOUNT } from './quantil.ts';
import { startSimulator } from './server.ts';
import { describeSimulator, simulatorSettings } from './settings.ts';
import { DEFAULT_VIMS_TOKEN } from './vims.ts';

function log(stream: NodeJS.WriteStream, fields: Record<string, unknown>): void {
  stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
}

async function main(): Promise<void> {
  const { port, tasks, edgeCount } = simulatorSettings(process.env);
  const host = process.env.SIM_HOST || '127.0.0.1';
  const token = process.env.SIM_VIMS_TOKEN || DEFAULT_VIMS_TOKEN;
  const quantilUser = process.env.SIM_QUANTIL_USER || DEFAULT_QUANTIL_ACCOUNT.user;
  const quantilKey = process.env.SIM_QUANTIL_KEY || DEFAULT_QUANTIL_ACCOUNT.apiKey;

  const sim = await startSimulator({
    host,
    port,
    vims: { tokens: [token], ...tasks },
    quantil: { accounts: [{ user: quantilUser, apiKey: quantilKey }], ...tasks },
    edges: { count: edgeCount },
  });
  const more = await startMoreCdns({ basePort: port, host, taskDurationMs: tasks.taskDurationMs }).catch(
    async (error: unknown) => {
      await sim.close();
      throw error;
    },
  );
  // process.on, not once: a Ctrl-C under `npm run simulator` arrives twice (the terminal's and npm's), and
  // the second, with no listener left, would kill the process before it has closed.
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    Promise.all([sim.close(), more.close()]).then(
      () => log(process.stdout, { msg: 'simulator stopped', signal }),
      (error: unknown) => {
        log(process.stderr, { msg: 'simulator stop failed', error: String(error) });
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Only now: whoever waits for this line may signal at once, and must find the listeners in place.
  const { url, providers, moreCdns, vimsServices, edges } = describeSimulator(sim, more);
  log(process.stdout, {
    msg: 'simulator listening',
    url,
    providers,
    moreCdns,
    quantilUser,
    vimsServices,
    ...tasks,
    edges,
  });
}

main().catch((error: unknown) => {
  log(process.stderr, {
    msg: 'simulator failed to start',
    error: error instanceof Error ? error.message : String(error),
  });
  process.exitCode = 1;
});
