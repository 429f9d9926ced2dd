import { describeError } from './errors.ts';
import type { RunningService } from './service.ts';

export interface SignalWatch {
  /** The service is up: a signal from now on stops it, and one caught while it started stops it now. */
  running(service: RunningService): void;
}

/**
 * Wires SIGTERM/SIGINT to a graceful stop and the process exit code. Called before the service starts, so
 * no signal finds the process without a listener: one sent as soon as the start-up line is out (what a
 * supervisor or test waits for) would otherwise kill it outright, and one sent while the demo starts its
 * private Redis would leave that Redis behind. Listeners stay for repeats: a Ctrl-C under `npm start`
 * reaches the process twice (from the terminal and forwarded by npm), and a signal with no listener left
 * would kill it mid-shutdown.
 */
export function stopOnSignals(): SignalWatch {
  let service: RunningService | undefined;
  let caught: NodeJS.Signals | undefined;
  let stopping = false;
  const stop = (running: RunningService, signal: NodeJS.Signals) => {
    stopping = true;
    running.stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: describeError(error) }, 'shutdown failed: exiting anyway');
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      service?.log.debug({ signal }, 'already shutting down');
      return;
    }
    if (service) stop(service, signal);
    else caught ??= signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    running(started) {
      service = started;
      if (caught && !stopping) stop(started, caught);
    },
  };
}
