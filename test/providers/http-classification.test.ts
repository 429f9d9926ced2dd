import { describe, expect, it } from 'vitest';
import { errorForStatus, toTransportError } from '../../src/providers/http.ts';

const response = (status: number, headers: Record<string, string> = {}) => ({ status, headers, body: '' });

describe('HTTP failure classification', () => {
  it.each([408, 500, 502, 503, 504])('%i is transient (CDN_UNAVAILABLE)', (status) => {
    expect(errorForStatus(response(status), 'x', '')).toMatchObject({
      code: 'CDN_UNAVAILABLE',
      retryable: true,
    });
  });

  it('429 is transient and carries Retry-After', () => {
    expect(errorForStatus(response(429, { 'retry-after': '7' }), 'x', '')).toMatchObject({
      code: 'CDN_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 7000,
    });
  });

  it.each([
    [400, 'CDN_REJECTED'],
    [401, 'CDN_AUTH'],
    [403, 'CDN_AUTH'],
    [404, 'CDN_NOT_FOUND'],
    [422, 'CDN_REJECTED'],
  ])('%i is permanent (%s), with the reason in the message', (status, code) => {
    const error = errorForStatus(response(status), 'VIMS purge', 'failed creation : nope');
    expect(error).toMatchObject({ code, retryable: false, httpStatus: status });
    expect(error.message).toBe(`VIMS purge: HTTP ${status} — failed creation : nope`);
  });

  it('maps undici timeouts to CDN_TIMEOUT and socket errors to CDN_NETWORK, both transient', () => {
    const req = { method: 'GET' as const, url: 'http://127.0.0.1/api/tasks/1' };
    const timeout = Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(toTransportError(timeout, req)).toMatchObject({ code: 'CDN_TIMEOUT', retryable: true });
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(toTransportError(reset, req)).toMatchObject({ code: 'CDN_NETWORK', retryable: true });
    expect(toTransportError(reset, req).message).toBe('GET /api/tasks/1: UND_ERR_SOCKET other side closed');
  });
});
