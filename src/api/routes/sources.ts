import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SourceConfig } from '../../config/sources.ts';
import { PurgeError } from '../../errors.ts';
import type { Runtime } from '../../runtime.ts';
import { compileEventRules, type EventRules } from '../../sources/event-targets.ts';
import { headerOf } from '../../sources/hmac.ts';
import { schemeOf } from '../../sources/schemes.ts';
import type { SourceScheme } from '../../sources/source.ts';
import { acceptPurge } from '../accept.ts';
import { documentedOnly } from '../openapi/documented-only.ts';
import { sourceBodySchema, sourceEventDoc } from '../openapi/webhook-docs.ts';
import { identifyClient } from '../plugins/bearer-auth.ts';

/** The same bound as the publish webhook's `eventId`. */
const MAX_EVENT_ID_LENGTH = 256;

export const SOURCE_PATH_PREFIX = '/v1/sources/';

interface MountedSource {
  config: SourceConfig;
  scheme: SourceScheme;
  rules: EventRules;
}

/**
 * POST /v1/sources/<name>: each of `api.sources`, a CMS's webhook as the CMS sends it. As on the publish
 * webhook, the signature is checked in the body parser, over the raw bytes (within the app's body limit),
 * before any JSON is parsed; the verified event then becomes URLs through the source's templates and goes
 * the producer's one way in, idempotent on the CMS's event id in the source's own scope.
 */
export async function sourceRoutes(app: FastifyInstance, { runtime }: { runtime: Runtime }) {
  const mounted = new Map<string, MountedSource>(
    runtime.config.api.sources.map((config) => {
      const scheme = schemeOf(config);
      const rules = compileEventRules(config, scheme.defaultEvents);
      return [`${SOURCE_PATH_PREFIX}${config.name}`, { config, scheme, rules }];
    }),
  );
  const sourceOf = (request: FastifyRequest) => mounted.get(request.routeOptions.url ?? '');

  // Only a verified signature names the sender; a request that never reached the parser (no body) has none.
  const verified = new WeakSet<FastifyRequest>();
  app.addHook('preValidation', async (request, reply) => {
    const source = sourceOf(request);
    if (!source || !verified.has(request)) {
      throw new PurgeError('SIGNATURE_INVALID', 'a signed JSON body is required');
    }
    identifyClient(request, reply, `source:${source.config.name}`);
  });

  const parseSigned = (
    request: FastifyRequest,
    body: Buffer,
    done: (error: Error | null, body?: unknown) => void,
  ) => {
    const source = sourceOf(request);
    if (!source) return done(new PurgeError('NOT_FOUND', `no source at ${request.url}`));
    if (!isJsonMediaType(request.headers['content-type'])) {
      return done(new PurgeError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json'));
    }
    const { method, url, headers } = request.raw;
    const signed = source.scheme.verify(
      { method: method ?? 'POST', url: url ?? '', headers, body },
      Date.now(),
    );
    if (!signed.ok) return done(new PurgeError('SIGNATURE_INVALID', signed.reason));
    verified.add(request);
    try {
      done(null, JSON.parse(body.toString('utf8')) as unknown);
    } catch (error) {
      done(new PurgeError('INVALID_JSON', `request body is not valid JSON: ${(error as Error).message}`));
    }
  };
  // Every media type reaches the parser, which answers 415 itself: Contentful's is not application/json.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseSigned);
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseSigned);

  for (const [path, source] of mounted) {
    // The CMS's payload is any JSON its templates read: described, never validated by a schema.
    const options = {
      schema: sourceEventDoc(source.config),
      config: documentedOnly({ body: sourceBodySchema }),
    };
    app.post(path, options, async (request, reply) => {
      const { config, scheme, rules } = source;
      const event = scheme.read(request.headers, request.body);
      if (event.id !== undefined && (event.id.length === 0 || event.id.length > MAX_EVENT_ID_LENGTH)) {
        throw new PurgeError('REQUEST_INVALID', `event id must be 1-${MAX_EVENT_ID_LENGTH} characters`);
      }
      const eventId = event.id === undefined ? {} : { eventId: event.id };
      const targets = rules.targetsOf(event);
      if (targets.kind === 'ignored') {
        request.log.info({ source: config.name, ...eventId, reason: targets.reason }, 'source event ignored');
        return reply.code(202).send({ ignored: true, reason: targets.reason, ...eventId });
      }
      // A signature already accepted is the same delivery sent again, whatever event id it now claims (not
      // every CMS signs its id): it answers the purge it became instead of purging, and spending quota, again.
      const signature = scheme.replayWindowSeconds
        ? headerOf(request.headers, scheme.signatureHeader)
        : undefined;
      const earlier = signature ? await runtime.store.deliveryPurge(config.name, signature) : undefined;
      if (earlier) {
        request.log.info({ source: config.name, purgeId: earlier, ...eventId }, 'source delivery replayed');
        const cdns = (await runtime.store.get(earlier))?.cdns ?? [];
        return reply
          .code(202)
          .send({ id: earlier, cdns, ...eventId, urls: targets.urls, dirs: targets.dirs, duplicate: true });
      }
      const result = await acceptPurge(
        {
          ...(targets.urls.length > 0 ? { urls: targets.urls } : {}),
          ...(targets.dirs.length > 0 ? { dirs: targets.dirs } : {}),
          ...(config.cdns ? { cdns: [...config.cdns] } : {}),
        },
        event.id === undefined ? undefined : { scope: `source:${config.name}`, key: event.id },
        runtime,
        config.priority,
      );
      // Crash window: killed before this, a replay within the window is a new purge: the same URLs purged
      // again (harmless, a CDN call), as without this guard.
      if (signature && scheme.replayWindowSeconds && !result.duplicate) {
        await runtime.store
          .rememberDelivery(config.name, signature, result.id, scheme.replayWindowSeconds)
          .catch((error: unknown) =>
            request.log.warn({ err: String(error) }, 'cannot remember the delivery'),
          );
      }
      request.log.info(
        { source: config.name, purgeId: result.id, ...eventId, duplicate: result.duplicate },
        'source event accepted',
      );
      return reply.code(202).send({
        id: result.id,
        cdns: result.cdns,
        ...eventId,
        urls: targets.urls,
        dirs: targets.dirs,
        ...(result.duplicate ? { duplicate: true } : {}),
      });
    });
  }
}

/** `application/json`, or a vendor's `application/<...>+json` (Contentful's `vnd.contentful.management.v1+json`). */
function isJsonMediaType(header: string | undefined): boolean {
  const media = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || (media.startsWith('application/') && media.endsWith('+json'));
}
