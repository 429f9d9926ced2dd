/**
 * A minimal HTTP/1.1 server for the Varnish nodes. Node's own parser (llhttp) knows PURGE but not BAN, and
 * answers a BAN with 400 before any handler sees it; a Varnish node takes any method its VCL names. So the
 * nodes parse requests themselves: one at a time per connection (no pipelining), keep-alive, bounded heads,
 * bodies read and dropped. The response side looks enough like a ServerResponse for faults.ts to shape it.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface RawRequest {
  method: string;
  target: string;
  /** Lower-cased names; a repeated header keeps its first value. */
  headers: Record<string, string>;
  remoteAddress: string | undefined;
}

/** The part of ServerResponse that faults.ts and a handler use. */
export class RawResponse {
  statusMessage = '';
  writableEnded = false;
  #head = false;

  readonly socket: Socket;
  readonly #done: () => void;

  constructor(socket: Socket, done: () => void) {
    this.socket = socket;
    this.#done = done;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  writeHead(status: number, headers: Record<string, string>): this {
    const reason = this.statusMessage || (status < 400 ? 'OK' : 'Error');
    const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
    this.socket.write(`HTTP/1.1 ${status} ${reason}\r\n${lines.join('')}\r\n`);
    this.#head = true;
    return this;
  }

  write(chunk: Buffer | string, callback?: () => void): boolean {
    return this.socket.write(chunk, callback);
  }

  end(body?: string): void {
    if (!this.#head) this.writeHead(200, {});
    this.writableEnded = true;
    this.socket.write(body ?? '', () => this.#done());
  }
}

const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = '\r\n\r\n';

/** A net server with its open sockets, so closing it can cut keep-alive and stalled connections. */
export interface RawServer {
  server: Server;
  close(): Promise<void>;
}

export function createRawServer(handle: (req: RawRequest, res: RawResponse) => void): RawServer {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = Buffer.alloc(0);
    let busy = false;
    let skip = 0;
    const bad = (): void => {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    };
    const next = (): void => {
      if (busy || socket.destroyed) return;
      if (skip > 0) {
        const dropped = Math.min(skip, buffered.length);
        buffered = buffered.subarray(dropped);
        skip -= dropped;
        if (skip > 0) return;
      }
      const end = buffered.indexOf(HEAD_END);
      if (end < 0) {
        if (buffered.length > MAX_HEAD_BYTES) bad();
        return;
      }
      const [line = '', ...fields] = buffered.subarray(0, end).toString('latin1').split('\r\n');
      buffered = buffered.subarray(end + HEAD_END.length);
      const parts = line.split(' ');
      if (parts.length !== 3 || !/^[A-Z]{1,16}$/.test(parts[0] ?? '') || !parts[2]?.startsWith('HTTP/1.')) {
        bad();
        return;
      }
      const headers: Record<string, string> = {};
      for (const field of fields) {
        const colon = field.indexOf(':');
        if (colon <= 0) {
          bad();
          return;
        }
        const name = field.slice(0, colon).trim().toLowerCase();
        headers[name] ??= field.slice(colon + 1).trim();
      }
      // Builtin VCL: HTTP/1.1 without Host is 400.
      if (parts[2] === 'HTTP/1.1' && headers.host === undefined) {
        bad();
        return;
      }
      skip = Number(headers['content-length'] ?? 0) || 0;
      busy = true;
      const close = headers.connection?.toLowerCase() === 'close';
      const res = new RawResponse(socket, () => {
        busy = false;
        if (close) socket.end();
        else next();
      });
      handle(
        {
          method: parts[0] as string,
          target: parts[1] as string,
          headers,
          remoteAddress: socket.remoteAddress,
        },
        res,
      );
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      next();
    });
    socket.on('error', () => socket.destroy());
  });
  return {
    server,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
