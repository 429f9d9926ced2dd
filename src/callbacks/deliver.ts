import { request } from 'undici';
import { PurgeError } from '../errors.ts';
import type { PurgeStatus } from '../model/status.ts';
import { errorForStatus, isSuccess, toTransportError } from '../providers/http.ts';
import { SIGNATURE_HEADER, sign, TIMESTAMP_HEADER } from './signature.ts';

/** POSTs a finished purge's status to its callback URL, signed; throws (to be retried) on any failure. */
export async function deliverCallback(
  status: PurgeStatus,
  options: { secret: string | undefined; timeoutMs: number; nowSeconds: number },
): Promise<number> {
  if (!status.callbackUrl) throw new PurgeError('REQUEST_INVALID', `purge ${status.id} has no callback URL`);
  const { callbackUrl, ...payload } = status;
  const body = JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'purge-worker',
  };
  if (options.secret) {
    headers[TIMESTAMP_HEADER] = String(options.nowSeconds);
    headers[SIGNATURE_HEADER] = sign(options.secret, options.nowSeconds, body);
  }
  const req = { method: 'POST' as const, url: callbackUrl };
  let statusCode: number;
  let text: string;
  try {
    const response = await request(callbackUrl, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    statusCode = response.statusCode;
    text = await firstBytes(response.body, 200);
  } catch (error) {
    throw toTransportError(error, req);
  }
  if (!isSuccess(statusCode))
    throw errorForStatus({ status: statusCode, headers: {}, body: text }, 'callback', text);
  return statusCode;
}

/** Reads at most `max` bytes of a receiver's answer (kept for the error message) and drops the rest. */
async function firstBytes(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= max) break;
  }
  body.destroy();
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}
