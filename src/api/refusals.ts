import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import type { PipelineEvents } from '../observability/events.ts';

/** The code each error answer is sent with, until it goes out (one Reply per request). */
const refusals = new WeakMap<FastifyReply, ErrorCode>();

/** Marks an answer as an error with this code; whoever sends an error answer calls it. */
export function markRefused(reply: FastifyReply, code: ErrorCode): void {
  refusals.set(reply, code);
}

/**
 * Tells `request:refused` for every answer marked as an error, when it is sent: from errors.ts's senders,
 * the not-found handler and the explorer's error pages alike. Added on the root before any route, so it
 * reaches every plugin's replies.
 */
export function countRefusals(app: FastifyInstance, events: PipelineEvents): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const code = refusals.get(reply);
    if (code !== undefined) {
      refusals.delete(reply);
      events.emit('request:refused', { code });
    }
    return payload;
  });
}
