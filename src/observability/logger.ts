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
];

export interface LoggerOptions {
  level: string;
  /** Defaults to stdout; tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service: 'purge-worker' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
