import type { FaultInjector, Hold, RequestLogEntry } from '../../src/simulator/faults.ts';
import type { Simulator, SimulatorOptions } from '../../src/simulator/server.ts';

export type SimOp = 'submit' | 'status' | 'list';

/** The parts of a provider's simulator an end-to-end scenario drives, the same for every provider. */
export interface SimHandle {
  faults: FaultInjector<SimOp>;
  holdNext(op: SimOp): Hold;
  requests(op: SimOp): readonly RequestLogEntry<string>[];
  setTaskDuration(ms: number): void;
  /** Remote ids of every task the CDN created, oldest first. */
  remoteIds(): string[];
}

export interface ScenarioSimOptions {
  taskDurationMs: number;
  /** Tasks whose URL contains this text end in failure. */
  failMarker?: string;
}

/** One provider as the end-to-end scenarios see it; adding a provider adds one rig here. */
export interface CdnRig {
  provider: string;
  cdnId: string;
  /** The credential that must never reach logs or Redis. */
  secret: string;
  simulatorOptions(options: ScenarioSimOptions): SimulatorOptions;
  cdnEntry(simulatorUrl: string, credentialsOk?: boolean): Record<string, unknown>;
  sim(simulator: Simulator): SimHandle;
  /** The reason a task failed on the CDN is reported with, for a URL containing the fail marker. */
  failureReason(url: string): RegExp;
  /** A 400 the CDN answers a submit with, and how its reason reads in the batch error. */
  rejection: { body: string; contentType: string; reason: RegExp };
}

const VIMS_TOKEN = 'sk_live_e2e_secret_token';
const QUANTIL_KEY = 'quantil-e2e-secret-api-key';

export const VIMS_RIG: CdnRig = {
  provider: 'vims',
  cdnId: 'vims-main',
  secret: VIMS_TOKEN,
  simulatorOptions: ({ taskDurationMs, failMarker }) => ({
    vims: {
      tokens: [VIMS_TOKEN],
      taskDurationMs,
      ...(failMarker
        ? { outcome: (task) => (task.pattern.includes(failMarker) ? 'FAILURE' : 'SUCCESS') }
        : {}),
    },
  }),
  cdnEntry: (baseUrl, credentialsOk = true) => ({
    id: 'vims-main',
    provider: 'vims',
    baseUrl,
    token: credentialsOk ? VIMS_TOKEN : 'sk_live_wrong',
    cdnId: 101,
  }),
  sim: (simulator) => ({
    faults: simulator.vims.faults,
    holdNext: (op) => simulator.vims.holdNext(op),
    requests: (op) => simulator.vims.requests.filter((r) => r.op === op),
    setTaskDuration: (ms) => simulator.vims.setTaskDuration(ms),
    remoteIds: () => simulator.vims.tasks.map((task) => String(task.id)),
  }),
  failureReason: () => /^FAILURE: Command failed/,
  rejection: {
    body: '{"message":"failed creation : pattern rejected","status":"error"}',
    contentType: 'application/json',
    reason: /HTTP 400 — failed creation : pattern rejected/,
  },
};

export const QUANTIL_RIG: CdnRig = {
  provider: 'quantil',
  cdnId: 'quantil-main',
  secret: QUANTIL_KEY,
  simulatorOptions: ({ taskDurationMs, failMarker }) => ({
    quantil: {
      accounts: [{ user: 'e2e', apiKey: QUANTIL_KEY }],
      taskDurationMs,
      ...(failMarker ? { outcome: (path) => (path.includes(failMarker) ? 'failure' : 'success') } : {}),
    },
  }),
  cdnEntry: (baseUrl, credentialsOk = true) => ({
    id: 'quantil-main',
    provider: 'quantil',
    baseUrl,
    user: 'e2e',
    apiKey: credentialsOk ? QUANTIL_KEY : 'wrong-key',
  }),
  sim: (simulator) => ({
    faults: simulator.quantil.faults,
    holdNext: (op) => simulator.quantil.holdNext(op),
    requests: (op) => simulator.quantil.requests.filter((r) => r.op === op),
    setTaskDuration: (ms) => simulator.quantil.setTaskDuration(ms),
    remoteIds: () => simulator.quantil.purges.map((purge) => purge.id),
  }),
  failureReason: (url) => new RegExp(`^failed: ${url.replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}`),
  rejection: {
    body: '<?xml version="1.0" encoding="UTF-8"?><error><code>400</code><message>invalid url</message></error>',
    contentType: 'application/xml',
    reason: /HTTP 400 — .*invalid url/,
  },
};

export const RIGS: readonly CdnRig[] = [VIMS_RIG, QUANTIL_RIG];
