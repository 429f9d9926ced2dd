import { parse } from 'yaml';
import { parseConfig } from './load.ts';

/** The CDNs `init` can write an entry for, in the order they are written. */
export const STARTER_CDNS = [
  'vims',
  'quantil',
  'cloudfront',
  'fastly',
  'cloudflare',
  'akamai',
  'varnish',
] as const;
export type StarterCdn = (typeof STARTER_CDNS)[number];

const HEADER = `# purge-worker config, written by \`purge-worker init\`. README "Configuration" lists every field.
# Secrets are \${ENV} references, filled from the environment at start-up: set each before \`npm start\`
# (a missing one stops the start, naming it). Edit the values marked EDIT, then check the file with
# \`purge-worker config check\`.

redis:
  # Default: REDIS_URL from the environment, else redis://127.0.0.1:6379 (a password goes in the URL).
  # url: redis://127.0.0.1:6379
  # Every key starts with this hash tag: one prefix per environment sharing a Redis.
  prefix: "{purge}"

cdns:
`;

const CDN_ENTRIES: Record<StarterCdn, { id: string; text: string }> = {
  vims: {
    id: 'vims-main',
    text: `  # VIMS (Planisys), README "VIMS (Planisys)".
  - id: vims-main
    provider: vims
    baseUrl: https://vims.planisys.net
    # The API token (sk_live_...).
    token: "\${VIMS_TOKEN}"
    # EDIT: your CDN service id (\`purge-worker cdns --check\` shows what the token can see).
    cdnId: 1234
    # "all" edges, or one CDN_HOST vm id.
    target: all
`,
  },
  quantil: {
    id: 'quantil-main',
    text: `  # QUANTIL, README "QUANTIL".
  - id: quantil-main
    provider: quantil
    baseUrl: https://api.quantil.com
    # EDIT: the account name (the Basic-auth user, and whose daily quota purges use).
    user: your-account
    # The account's API key (signs each request; never sent itself).
    apiKey: "\${QUANTIL_API_KEY}"
    # EDIT: the account's domains; a purge of "all" purges each one's root.
    domains: [www.example.com]
`,
  },
  cloudfront: {
    id: 'cloudfront-main',
    text: `  # Amazon CloudFront, README "CloudFront". One entry is one distribution.
  - id: cloudfront-main
    provider: cloudfront
    baseUrl: https://cloudfront.amazonaws.com
    # EDIT: the distribution's id.
    distributionId: EDFDVBD632BHDS5
    # An IAM identity allowed cloudfront:CreateInvalidation, GetInvalidation and ListInvalidations on it.
    accessKeyId: "\${AWS_ACCESS_KEY_ID}"
    secretAccessKey: "\${AWS_SECRET_ACCESS_KEY}"
    # The distribution's alternate domain names: set, a URL of any other host is refused (a path names no
    # host). Unset, every routed URL is sent by its path; routes decide which hosts reach this entry.
    # hosts: [www.example.com]
    # Invalidations take minutes: give polling longer than the 15-minute default.
    policy:
      poll: { deadlineMs: 1800000 }
`,
  },
  fastly: {
    id: 'fastly-main',
    text: `  # Fastly, README "Fastly". One entry is one service.
  - id: fastly-main
    provider: fastly
    # EDIT: the service id.
    serviceId: SU1Z0isxPaozGVKXdv0eY
    # An API token with purge_select (and purge_all, for "all") on the service.
    token: "\${FASTLY_API_TOKEN}"
    # Soft purge: objects are marked stale, not removed.
    soft: false
`,
  },
  cloudflare: {
    id: 'cloudflare-main',
    text: `  # Cloudflare, README "Cloudflare". One entry is one zone.
  - id: cloudflare-main
    provider: cloudflare
    # EDIT: the zone id (32 hex digits, on the zone's Overview page).
    zoneId: 023e105f4ecef8ad9ca31a8372d0c353
    # An API token with the zone's Cache Purge permission.
    apiToken: "\${CLOUDFLARE_API_TOKEN}"
    # EDIT: the zone's plan (free, pro, business, enterprise): it sets the per-call caps.
    plan: free
`,
  },
  akamai: {
    id: 'akamai-main',
    text: `  # Akamai Fast Purge v3, README "Akamai". The four values of an .edgerc section.
  - id: akamai-main
    provider: akamai
    # EDIT: the .edgerc host.
    baseUrl: https://akab-xxxxxxxxxxxxxxxx-xxxxxxxxxxxxxxxx.luna.akamaiapis.net
    clientToken: "\${AKAMAI_CLIENT_TOKEN}"
    clientSecret: "\${AKAMAI_CLIENT_SECRET}"
    accessToken: "\${AKAMAI_ACCESS_TOKEN}"
    network: production
`,
  },
  varnish: {
    id: 'varnish-main',
    text: `  # Varnish, README "Varnish": every cache node is sent each purge; its VCL must allow PURGE and BAN.
  - id: varnish-main
    provider: varnish
    # EDIT: one cache node, then the others.
    baseUrl: http://varnish-1.internal:6081
    nodes: [http://varnish-2.internal:6081]
    # EDIT: the sites' Host values, which a pattern or "all" purge bans on.
    hosts: [www.example.com]
`,
  },
};

const API_AND_REST = `
api:
  host: 0.0.0.0
  port: 8080
  # Bearer tokens for /v1/purges, each at least 16 characters; with none, every call is refused.
  tokens:
    - name: cms
      token: "\${PURGE_API_TOKEN}"
  # The CMS publish webhook (/v1/events/publish), HMAC-signed with this secret; remove it to turn it off.
  webhook:
    secret: "\${PURGE_WEBHOOK_SECRET}"

dashboard:
  # Basic-auth users of the queue dashboard (/admin/queues) and purge explorer (/admin/purges).
  users:
    - username: ops
      password: "\${DASHBOARD_PASSWORD}"

log:
  # LOG_LEVEL in the environment overrides it.
  level: info
`;

/**
 * A commented starter config (YAML) for the given CDNs, with every secret an `${ENV}` reference (the
 * names docker-compose.yml uses). Validated before it is returned: a template the schema refuses is a bug
 * here, never a file written for a user to debug.
 */
export function starterConfig(cdns: readonly StarterCdn[]): string {
  if (cdns.length === 0) throw new Error('a starter config needs at least one CDN');
  const entries = cdns.map((cdn) => CDN_ENTRIES[cdn]);
  const routes = `
routes:
  # EDIT: which CDNs purge a URL of which hosts (exact, or *.example.com), when a request names none.
  - hosts: [www.example.com, "*.static.example.com"]
    cdns: [${entries.map((entry) => entry.id).join(', ')}]
`;
  const text = HEADER + entries.map((entry) => entry.text).join('') + routes + API_AND_REST;
  parseConfig(parse(text), placeholderValues(text), 'the starter config');
  return text;
}

/** The `${VAR}` names a YAML text refers to, outside its comments. */
export function placeholderNames(text: string): string[] {
  const values = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  return [...new Set([...values.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string))];
}

/**
 * A stand-in for each variable, long enough for a secret and letters and digits only (an AWS access key id
 * allows no more): only to validate the template's shape.
 */
function placeholderValues(text: string): NodeJS.ProcessEnv {
  return Object.fromEntries(
    placeholderNames(text).map((name) => [name, `Placeholder0${name.replace(/[^A-Za-z0-9]/g, '')}`]),
  );
}
