import { Readable } from 'node:stream';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fetch } from 'undici';

export interface UploadPlan {
  url: string;
  headers: Record<string, string>;
  bytes: number;
  tries: number;
  /** Send without a content-length (chunked), as a stream of 256 KiB chunks. */
  chunked?: boolean;
}

/** What one try got: the status and body it read, or the error the client threw. */
export type UploadOutcome =
  | { status: number; body: string /** The answer said `connection: close`. */; closed: boolean }
  | { error: string };

/**
 * Uploads from a worker thread, with its own event loop, as a client process would: a client that shares
 * the server's event loop never sees the server close mid-upload, since each waits for the other's turn.
 */
export function uploadFromAnotherThread(plan: UploadPlan): Promise<UploadOutcome[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { uploadPlan: plan } });
    worker.once('message', (outcomes: UploadOutcome[]) => {
      resolve(outcomes);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

async function run(plan: UploadPlan): Promise<UploadOutcome[]> {
  const outcomes: UploadOutcome[] = [];
  const whole = Buffer.alloc(plan.bytes, 0x20);
  for (let attempt = 0; attempt < plan.tries; attempt++) {
    const chunks = () => {
      const size = 256 * 1024;
      return Array.from({ length: Math.ceil(plan.bytes / size) }, (_, i) =>
        whole.subarray(i * size, (i + 1) * size),
      );
    };
    try {
      const response = await fetch(plan.url, {
        method: 'POST',
        headers: plan.headers,
        ...(plan.chunked ? { body: Readable.from(chunks()), duplex: 'half' as const } : { body: whole }),
      });
      outcomes.push({
        status: response.status,
        body: await response.text(),
        closed: response.headers.get('connection')?.toLowerCase() === 'close',
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      outcomes.push({ error: `${(error as Error).message}: ${cause?.code ?? cause?.message ?? ''}` });
    }
  }
  return outcomes;
}

// Only in the thread started above: a test runner's own worker threads carry other data.
const plan = (workerData as { uploadPlan?: UploadPlan } | null)?.uploadPlan;
if (!isMainThread && parentPort && plan) {
  const port = parentPort;
  void run(plan).then((outcomes) => port.postMessage(outcomes));
}
