import type { IncomingMessage } from 'node:http';

export interface DrainLimits {
  /** Most body bytes read and thrown away before giving up on the connection. */
  limitBytes: number;
  /** Longest wait for the rest of the body. */
  timeoutMs: number;
}

/**
 * Reads and discards what is left of a request body, within both limits. Resolves true when the body
 * ended (the answer can be read, and the connection kept), false when it would not within them (then
 * the connection must close). A body whose declared length is over the limit is not read at all.
 *
 * Why: answering a request whose body is still coming and then closing makes the client's kernel reset
 * the connection as its next bytes arrive, and a reset throws away the answer it had not read yet: the
 * client sees "EPIPE" or "fetch failed" instead of the 413 it was sent.
 */
export function drainBody(request: IncomingMessage, limits: DrainLimits): Promise<boolean> {
  if (request.complete) return Promise.resolve(true);
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.limitBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let read = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('close', onClose);
      request.off('error', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      read += chunk.length;
      if (read > limits.limitBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(request.complete);
    const timer = setTimeout(() => finish(false), limits.timeoutMs);
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('close', onClose);
    request.on('error', onClose);
    request.resume();
  });
}
