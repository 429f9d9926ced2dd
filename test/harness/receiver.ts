import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedCallback {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A callback receiver on a loopback address: it records every connection and request it gets. */
export interface Receiver {
  /** `http://<host>:<port>` */
  url: string;
  port: number;
  connections: number;
  received: ReceivedCallback[];
  close(): Promise<void>;
}

/**
 * Starts a receiver on `host` (127.0.0.0/8 only: every address there is this machine's loopback).
 * `respond` answers each request once its body has arrived; one that never answers is a black hole.
 */
export async function startReceiver(
  respond: (req: IncomingMessage, res: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<Receiver> {
  if (!host.startsWith('127.')) throw new Error(`a test receiver listens on loopback only, not ${host}`);
  const sockets = new Set<Socket>();
  const state = { connections: 0, received: [] as ReceivedCallback[] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      state.received.push({ url: req.url ?? '', headers: req.headers, body });
      respond(req, res);
    });
  });
  server.on('connection', (socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    get connections() {
      return state.connections;
    },
    received: state.received,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
