import type { Config } from './schema.ts';

export const MASK = '********';

/**
 * Fields holding a credential wherever they appear: API tokens (ours, VIMS's, Cloudflare's), QUANTIL keys,
 * passwords, secrets, CloudFront's AWS credentials (secretAccessKey, sessionToken), Akamai's EdgeGrid
 * credentials (clientSecret; clientToken and accessToken identify the API client).
 */
const SECRET_KEY =
  /^(token|apiToken|apiKey|password|secret|secretAccessKey|sessionToken|clientSecret|clientToken|accessToken)$/i;
/** Check headers (cdns[].verify.headers) whose value is a credential by its name. */
const SECRET_HEADER = /auth|token|key|secret|pass|cookie|session/i;

/**
 * A copy of a resolved config fit to print (`purge-worker config check`): every credential replaced by a
 * mask, Redis URLs without their password. What is masked is decided by field name, so a secret field added
 * later under one of those names is masked with no change here.
 */
export function maskSecrets(config: Config): unknown {
  return visit(config, []);
}

function visit(value: unknown, path: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => visit(item, path));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, maskField(key, item, [...path, key])]),
    );
  }
  return value;
}

function maskField(key: string, value: unknown, path: readonly string[]): unknown {
  const parent = path.at(-2);
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return MASK;
    // A credential held as an object ({ header, value }: Varnish's shared secret): its value, not its name.
    if (key === 'value' && parent !== undefined && SECRET_KEY.test(parent)) return MASK;
    if (parent === 'headers' && SECRET_HEADER.test(key)) return MASK;
    if (path.join('.') === 'redis.url') return withoutPassword(value);
  }
  if (key === 'clusterNodes' && Array.isArray(value))
    return value.map((url) => (typeof url === 'string' ? withoutPassword(url) : url));
  return visit(value, path);
}

/** `redis://user:pass@host:6379/0` -> `redis://user:********@host:6379/0`. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = MASK;
    return parsed.toString();
  } catch {
    // Not a URL the schema would have let through; nothing of it is shown.
    return MASK;
  }
}
