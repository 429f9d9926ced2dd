import { createHttpClient, type HttpClient } from '../../src/providers/http.ts';

/**
 * The shared HTTP client as provider tests use it against a loopback simulator: short timeouts, so a test of
 * a stall or a dropped connection ends in well under a second, and the body cap the service uses.
 */
export function providerTestClient(): HttpClient {
  return createHttpClient({
    connectTimeoutMs: 500,
    headersTimeoutMs: 500,
    bodyTimeoutMs: 500,
    totalTimeoutMs: 1000,
    maxResponseBytes: 1 << 20,
  });
}
