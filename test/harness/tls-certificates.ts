import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway certificate authority and one certificate it signed, as PEM files in a temp dir. */
export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** Whether openssl and a TLS-enabled redis-server / redis-cli are on PATH. */
export async function canRunTlsRedis(): Promise<boolean> {
  try {
    await run('openssl', ['version']);
    await run('redis-server', ['--version']);
    const { stdout } = await run('redis-cli', ['--help']).catch((error: { stdout?: string }) => ({
      stdout: error.stdout ?? '',
    }));
    return stdout.includes('--tls');
  } catch {
    return false;
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/**
 * A CA (`name`) and a server certificate for 127.0.0.1 and localhost signed by it, valid one day. Redis
 * uses the same certificate for its cluster bus and replication links, so the key usage is left open.
 */
export async function makeTlsFiles(name: string): Promise<TlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-tls-'));
  const file = (base: string) => join(dir, base);
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.crt'),
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  ]);
  await run('openssl', [
    'req',
    '-new',
    ...EC_KEY,
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.crt'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-out',
    file('server.crt'),
    '-days',
    '1',
    '-extfile',
    file('server.ext'),
  ]);
  return { caFile: file('ca.crt'), certFile: file('server.crt'), keyFile: file('server.key') };
}

/** redis-server arguments that serve only TLS on `port` (no plaintext port), for clients without certs. */
export function tlsServerArgs(files: TlsFiles, port: number): string[] {
  return [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--tls-cert-file',
    files.certFile,
    '--tls-key-file',
    files.keyFile,
    '--tls-ca-cert-file',
    files.caFile,
    // Clients prove themselves with the password; a node connecting to another still verifies its certificate.
    '--tls-auth-clients',
    'no',
  ];
}
