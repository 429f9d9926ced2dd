import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import { matchesAny } from '../../callbacks/signature.ts';
import type { Runtime } from '../../runtime.ts';

export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  runtime: Runtime;
  users: ReadonlyArray<{ username: string; password: string }>;
  readOnly: boolean;
}

/**
 * bull-board over every purge-worker queue, in an encapsulated plugin whose own basic-auth hook guards
 * all of its routes (bull-board has no auth of its own). Read-only unless configured otherwise. Job data
 * holds no credentials, so nothing secret can show here.
 */
export async function dashboardPlugin(app: FastifyInstance, { runtime, users, readOnly }: DashboardOptions) {
  const accepted = users.map((user) => `${user.username}:${user.password}`);
  await app.register(basicAuth, {
    authenticate: { realm: 'purge-worker dashboard' },
    validate: async (username, password) => {
      if (!matchesAny(`${username}:${password}`, accepted)) throw new Error('wrong username or password');
    },
  });
  app.addHook('onRequest', app.basicAuth);

  const serverAdapter = new FastifyAdapter().setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: runtime
      .queues()
      .map(
        (queue) =>
          new BullMQAdapter(queue, { readOnlyMode: readOnly, allowRetries: !readOnly, delimiter: ':' }),
      ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'purge-worker' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
}
