import { z } from 'zod';
import { prioritySchema } from '../model/purge.ts';
import { isFieldPath, parseUrlTemplate } from '../sources/url-template.ts';

/**
 * `api.sources[]`: CMS webhooks as the CMS sends them, each mounted at `POST /v1/sources/<name>`. A preset
 * knows how its CMS signs and where its events keep their id, name and content type; `generic` is told.
 */
const sourceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 chars of a-z, 0-9, _ or -, starting with a-z or 0-9');

const secret = z.string().min(16, 'must be at least 16 characters');

const headerName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name (A-Z, a-z, 0-9, -)')
  .transform((name) => name.toLowerCase());

const fieldPath = z
  .string()
  .refine(isFieldPath, 'must be a field path: dot-separated keys of A-Z a-z 0-9 _ $ @ - (e.g. sys.id)');

const urlTemplate = z.string().superRefine((template, ctx) => {
  const parsed = parseUrlTemplate(template);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

/** What one content type purges: its pages (`urls`) and directories (`dirs`), as templates. */
const contentTemplatesSchema = z
  .strictObject({
    urls: z.array(urlTemplate).max(100).default([]),
    dirs: z.array(urlTemplate).max(100).default([]),
  })
  .refine((templates) => templates.urls.length + templates.dirs.length > 0, {
    message: 'needs at least one template in urls or dirs',
  });

export type ContentTemplates = z.infer<typeof contentTemplatesSchema>;

const commonFields = {
  name: sourceName,
  /** The lane of this source's purges (before the routes' defaults). */
  priority: prioritySchema.optional(),
  /** CDN ids to purge on; without them, each URL goes where its host routes. */
  cdns: z.array(z.string().min(1)).min(1).optional(),
  /** Event names that purge; others are answered 202 `ignored`. Without it, the preset's default. */
  events: z.array(z.string().min(1).max(128)).min(1).optional(),
  /** Content type -> templates; `*` serves every type without its own entry. */
  templates: z
    .record(z.string().min(1).max(256), contentTemplatesSchema)
    .refine((templates) => Object.keys(templates).length > 0, {
      message: 'needs at least one content type (or "*")',
    }),
};

/** Contentful: request verification, https://www.contentful.com/developers/docs/webhooks/request-verification/ */
export const contentfulSourceSchema = z.strictObject({
  preset: z.literal('contentful'),
  ...commonFields,
  secret: z
    .string()
    .regex(
      /^[0-9A-Za-z+/=_-]{64}$/,
      "must be Contentful's signing secret: exactly 64 characters of 0-9 A-Z a-z + / = _ -",
    ),
  /** Oldest signature accepted; 30 s is the TTL of Contentful's own verifyRequest. */
  toleranceSeconds: z.number().int().min(1).default(30),
});

/** Sanity: GROQ-powered webhooks signed as @sanity/webhook checks them. */
export const sanitySourceSchema = z.strictObject({
  preset: z.literal('sanity'),
  ...commonFields,
  secret,
  toleranceSeconds: z.number().int().min(1).default(300),
});

/** Storyblok: `webhook-signature`, an HMAC-SHA1 of the body (no timestamp to bound replays). */
export const storyblokSourceSchema = z.strictObject({
  preset: z.literal('storyblok'),
  ...commonFields,
  secret,
});

/** Where a generic source finds one value of its event: a request header or a field of the JSON body. */
const locatorSchema = z
  .strictObject({ header: headerName.optional(), field: fieldPath.optional() })
  .refine((locator) => (locator.header === undefined) !== (locator.field === undefined), {
    message: 'give exactly one of header or field',
  });

export type ValueLocator = z.infer<typeof locatorSchema>;

const signedPayload = z
  .string()
  .max(256)
  .default('{timestamp}.{body}')
  .refine((text) => occurrences(text, '{timestamp}') === 1 && occurrences(text, '{body}') === 1, {
    message: 'must hold {timestamp} and {body} once each, e.g. "{timestamp}.{body}"',
  });

function occurrences(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

export const genericSignatureSchema = z.strictObject({
  header: headerName,
  algorithm: z.enum(['sha1', 'sha256']).default('sha256'),
  encoding: z.enum(['hex', 'base64']).default('hex'),
  /** Text before the digest in the header, e.g. `sha256=`. */
  prefix: z.string().max(64).default(''),
  /** A signed timestamp header bounds replays; without it, the body alone is signed. */
  timestamp: z
    .strictObject({
      header: headerName,
      unit: z.enum(['seconds', 'milliseconds']).default('seconds'),
      toleranceSeconds: z.number().int().min(1).default(300),
      /** How the timestamp (as sent) and the raw body make the signed text. */
      signedPayload,
    })
    .optional(),
});

export type GenericSignature = z.infer<typeof genericSignatureSchema>;

export const genericSourceSchema = z.strictObject({
  preset: z.literal('generic'),
  ...commonFields,
  secret,
  signature: genericSignatureSchema,
  /** The event's id, for idempotency; without it every delivery is a purge of its own. */
  eventId: locatorSchema.optional(),
  /** The event's name, matched against `events`; without it every event purges. */
  event: locatorSchema.optional(),
  /** The content type that picks the templates; without it only `*` applies. */
  contentType: locatorSchema.optional(),
});

export const sourceSchema = z.discriminatedUnion('preset', [
  contentfulSourceSchema,
  sanitySourceSchema,
  storyblokSourceSchema,
  genericSourceSchema,
]);

export type SourceConfig = z.infer<typeof sourceSchema>;
export type SourceConfigOf<P extends SourceConfig['preset']> = Extract<SourceConfig, { preset: P }>;
