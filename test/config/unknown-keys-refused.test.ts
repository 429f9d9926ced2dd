import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseConfig } from '../../src/config/load.ts';
import { configSchema } from '../../src/config/schema.ts';
import { PurgeError } from '../../src/errors.ts';
import { QUANTIL_ENTRY, VIMS_ENTRY } from './fixtures.ts';

const vims = VIMS_ENTRY;
const quantil = QUANTIL_ENTRY;
const secret = 'a-secret-of-16-chars-or-more';

/** A valid config with every section present, so a typo can be put into any of them. */
function fullConfig(): Record<string, unknown> {
  return {
    redis: { url: 'redis://127.0.0.1:6379', prefix: '{purge}', waitReplicas: { replicas: 1 } },
    cdns: [
      { ...vims, rateLimit: { max: 10, durationMs: 1000 }, policy: { submit: { attempts: 2 } } },
      { ...quantil },
    ],
    routes: [{ hosts: ['www.example.com'], cdns: ['vims-main'] }],
    policy: { submit: { attempts: 3 }, poll: { deadlineMs: 1000 }, http: { connectTimeoutMs: 100 } },
    worker: { lockDurationMs: 1000, keepCompleted: { count: 1 }, keepFailed: { count: 1 } },
    api: {
      port: 0,
      tokens: [secret],
      webhook: { secret },
      sources: [
        {
          name: 'cms',
          preset: 'generic',
          secret,
          signature: { header: 'x-sig', timestamp: { header: 'x-ts' } },
          eventId: { header: 'x-id' },
          templates: { '*': { urls: ['https://www.example.com/{id}'] } },
        },
      ],
    },
    callbacks: { attempts: 2 },
    dashboard: { users: [{ username: 'ops', password: secret }] },
    metrics: { port: 0 },
    log: { level: 'warn' },
  };
}

/** Puts `key: value` into the object at `path` of a full config. */
function withKey(path: Array<string | number>, key: string, value: unknown = 1): unknown {
  const config = fullConfig();
  let target = config as Record<string | number, unknown>;
  for (const part of path) target = target[part] as Record<string | number, unknown>;
  target[key] = value;
  return config;
}

function messageOf(input: unknown): string {
  try {
    parseConfig(input, {});
  } catch (error) {
    if (error instanceof PurgeError && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

// [what a typo is refused as, the object it is in, the typo]
const typos: Array<[string, Array<string | number>, string]> = [
  ['polcy: unknown key (did you mean "policy"?)', [], 'polcy'],
  ['redis.URL: unknown key (did you mean "url"?)', ['redis'], 'URL'],
  [
    'redis.waitReplicas.replica: unknown key (did you mean "replicas"?)',
    ['redis', 'waitReplicas'],
    'replica',
  ],
  ['api.tokenz: unknown key (did you mean "tokens"?)', ['api'], 'tokenz'],
  ['api.webhook.secrte: unknown key (did you mean "secret"?)', ['api', 'webhook'], 'secrte'],
  ['api.sources[0].signatur: unknown key (did you mean "signature"?)', ['api', 'sources', 0], 'signatur'],
  [
    'api.sources[0].signature.prefx: unknown key (did you mean "prefix"?)',
    ['api', 'sources', 0, 'signature'],
    'prefx',
  ],
  [
    'api.sources[0].signature.timestamp.headr: unknown key (did you mean "header"?)',
    ['api', 'sources', 0, 'signature', 'timestamp'],
    'headr',
  ],
  [
    'api.sources[0].eventId.feld: unknown key (did you mean "field"?)',
    ['api', 'sources', 0, 'eventId'],
    'feld',
  ],
  [
    'api.sources[0].templates.*.url: unknown key (did you mean "urls"?)',
    ['api', 'sources', 0, 'templates', '*'],
    'url',
  ],
  ['callbacks.attemps: unknown key (did you mean "attempts"?)', ['callbacks'], 'attemps'],
  ['dashboard.readonly: unknown key (did you mean "readOnly"?)', ['dashboard'], 'readonly'],
  [
    'dashboard.users[0].passwrd: unknown key (did you mean "password"?)',
    ['dashboard', 'users', 0],
    'passwrd',
  ],
  ['metrics.prot: unknown key (did you mean "port"?)', ['metrics'], 'prot'],
  ['worker.lockDuration: unknown key (did you mean "lockDurationMs"?)', ['worker'], 'lockDuration'],
  [
    'worker.keepCompleted.agesecond: unknown key (did you mean "ageSeconds"?)',
    ['worker', 'keepCompleted'],
    'agesecond',
  ],
  ['worker.keepFailed.cont: unknown key (did you mean "count"?)', ['worker', 'keepFailed'], 'cont'],
  ['log.levl: unknown key (did you mean "level"?)', ['log'], 'levl'],
  ['routes[0].host: unknown key (did you mean "hosts"?)', ['routes', 0], 'host'],
  ['cdns[0].ratelimit: unknown key (did you mean "rateLimit"?)', ['cdns', 0], 'ratelimit'],
  ['cdns[0].concurency: unknown key (did you mean "concurrency"?)', ['cdns', 0], 'concurency'],
  ['cdns[0].tokn: unknown key (did you mean "token"?)', ['cdns', 0], 'tokn'],
  ['cdns[0].rateLimit.maxx: unknown key (did you mean "max"?)', ['cdns', 0, 'rateLimit'], 'maxx'],
  [
    'cdns[0].policy.submit.attempt: unknown key (did you mean "attempts"?)',
    ['cdns', 0, 'policy', 'submit'],
    'attempt',
  ],
  ['cdns[1].apikey: unknown key (did you mean "apiKey"?)', ['cdns', 1], 'apikey'],
  ['cdns[1].domain: unknown key (did you mean "domains"?)', ['cdns', 1], 'domain'],
  ['policy.pol: unknown key (did you mean "poll"?)', ['policy'], 'pol'],
  ['policy.poll.deadlineMS: unknown key (did you mean "deadlineMs"?)', ['policy', 'poll'], 'deadlineMS'],
  [
    'policy.http.connectTimeout: unknown key (did you mean "connectTimeoutMs"?)',
    ['policy', 'http'],
    'connectTimeout',
  ],
];

describe('unknown config keys', () => {
  it('leave the full config used below valid when there is no typo', () => {
    expect(() => parseConfig(fullConfig(), {})).not.toThrow();
  });

  it.each(typos)('are refused as "%s"', (line, path, key) => {
    expect(messageOf(withKey(path, key)).split('\n')).toContain(`  - ${line}`);
  });

  it('are refused without a suggestion when no known key is close', () => {
    const message = messageOf(withKey(['api'], 'colour'));
    expect(message).toContain('api.colour: unknown key');
    expect(message).not.toContain('did you mean');
  });

  it('are each named when one section has several', () => {
    const message = messageOf({ ...fullConfig(), api: { prot: 1, hots: 'x' } });
    expect(message).toContain('api.prot: unknown key (did you mean "port"?)');
    expect(message).toContain('api.hots: unknown key (did you mean "host"?)');
  });

  it('are refused by every object of the schema, at every depth', () => {
    expect(objectsThatAcceptUnknownKeys(configSchema)).toEqual([]);
  });
});

/**
 * Walks the schema the way zod nests it and lists every object that would let an unknown key through, so a
 * field added later as a plain `z.object` is caught here rather than by a user whose typo was ignored.
 */
function objectsThatAcceptUnknownKeys(schema: z.core.$ZodType, path = '(root)'): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  const inner = (key: string) => def[key] as z.core.$ZodType;
  switch (def.type) {
    case 'object': {
      const catchall = def.catchall as z.core.$ZodType | undefined;
      const own = catchall?._zod.def.type === 'never' ? [] : [path];
      const shape = def.shape as Record<string, z.core.$ZodType>;
      return [
        ...own,
        ...Object.entries(shape).flatMap(([key, field]) =>
          objectsThatAcceptUnknownKeys(field, `${path}.${key}`),
        ),
      ];
    }
    case 'array':
      return objectsThatAcceptUnknownKeys(inner('element'), `${path}[]`);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return objectsThatAcceptUnknownKeys(inner('innerType'), path);
    case 'pipe':
      return [
        ...objectsThatAcceptUnknownKeys(inner('in'), path),
        ...objectsThatAcceptUnknownKeys(inner('out'), path),
      ];
    case 'union':
      return (def.options as z.core.$ZodType[]).flatMap((option, index) =>
        objectsThatAcceptUnknownKeys(option, `${path}|${index}`),
      );
    case 'intersection':
      return [
        ...objectsThatAcceptUnknownKeys(inner('left'), path),
        ...objectsThatAcceptUnknownKeys(inner('right'), path),
      ];
    case 'record':
      return objectsThatAcceptUnknownKeys(inner('valueType'), `${path}.*`);
    case 'lazy':
      return objectsThatAcceptUnknownKeys((def.getter as () => z.core.$ZodType)(), path);
    default:
      return [];
  }
}
