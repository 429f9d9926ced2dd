import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths pino blanks out wherever they appear in a log object. Config is never logged whole, but a stray
 * error object or request echo must still not leak a token, an API key or a signature.
 */
export const REDACTED_PATHS = [
  'token',
  'apiKey',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.apiKey',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'config.cdns[*].token',
  'config.cdns[*].apiKey',
  // The credentials of the later CDNs (Cloudflare, CloudFront, Akamai, Fastly), wherever a config is logged.
  ...['apiToken', 'secretAccessKey', 'sessionToken', 'clientSecret', 'clientToken', 'accessToken'].flatMap(
    (field) => [field, `*.${field}`, `config.cdns[*].${field}`],
  ),
];

export interface LoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /** Human-readable lines (pino-pretty) instead of JSON, for a person at a terminal. */
  pretty?: boolean;
}

export function createLogger({ level, destination, pretty = false }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service: 'purge-worker' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  if (pretty) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  return pino(options);
}
