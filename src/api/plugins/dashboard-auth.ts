import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { matchesAny } from '../../callbacks/signature.ts';
import { identifyClient } from './bearer-auth.ts';

export type DashboardUsers = ReadonlyArray<{ username: string; password: string }>;

/**
 * HTTP basic auth over every route of the (encapsulated) plugin it is registered in: the queue dashboard
 * and the purge explorer share `dashboard.users` and one realm, so a browser that logged in to one is in
 * the other. The user is named on the request's log lines as `client: dashboard:<username>`.
 */
export async function dashboardAuth(app: FastifyInstance, users: DashboardUsers): Promise<void> {
  const accepted = users.map((user) => `${user.username}:${user.password}`);
  await app.register(basicAuth, {
    authenticate: { realm: 'purge-worker dashboard' },
    validate: async (username, password, request, reply) => {
      if (!matchesAny(`${username}:${password}`, accepted)) throw new Error('wrong username or password');
      identifyClient(request, reply, `dashboard:${username}`);
    },
  });
  app.addHook('onRequest', app.basicAuth);
}
