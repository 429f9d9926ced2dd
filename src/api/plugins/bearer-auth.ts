import type { FastifyReply, FastifyRequest } from 'fastify';
import { indexOfMatch } from '../../callbacks/signature.ts';
import type { ApiToken } from '../../config/schema.ts';
import { sendError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: the matching API token's name, or `webhook` for a signed CMS event. */
    client: string;
  }
}

/**
 * An onRequest hook accepting `Authorization: Bearer <token>` for any configured token. The token's name
 * becomes `request.client`, and every later log line about the request carries it as `client`.
 */
export function bearerAuth(tokens: readonly ApiToken[]) {
  const secrets = tokens.map((token) => token.token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const presented = bearerToken(request.headers.authorization ?? '');
    const index = presented !== undefined && tokens.length > 0 ? indexOfMatch(presented, secrets) : -1;
    const token = tokens[index];
    if (!token) {
      reply.header('www-authenticate', 'Bearer realm="purge-worker"');
      return sendError(reply, 'UNAUTHORIZED', 'a valid "Authorization: Bearer <token>" header is required');
    }
    identifyClient(request, reply, token.name);
  };
}

/** Names the client on the request and on both loggers, so the access log line carries it too. */
export function identifyClient(request: FastifyRequest, reply: FastifyReply, client: string): void {
  request.client = client;
  request.log = request.log.child({ client });
  reply.log = request.log;
}

/**
 * The token of `Bearer <token>`, or undefined. Linear on any header: `\s+` and `\S+` share no character,
 * so there is only one way to split, and the anchors leave a single start.
 */
export function bearerToken(header: string): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}
