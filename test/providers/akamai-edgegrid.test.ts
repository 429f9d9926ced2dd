import { describe, expect, it } from 'vitest';
import {
  contentHash,
  edgeGridTimestamp,
  type SignableRequest,
  signEdgeGrid,
} from '../../src/providers/akamai/edgegrid.ts';

/**
 * The vectors of Akamai's own Node SDK (akamai/AkamaiOPEN-edgegrid-node, test/test_data.json and
 * test/test.js): fixed credentials, timestamp and nonce, max-body 2048, headers to sign X-Test1..3.
 */
const CREDENTIALS = {
  clientToken: 'akab-client-token-xxx-xxxxxxxxxxxxxxxx',
  clientSecret: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=',
  accessToken: 'akab-access-token-xxx-xxxxxxxxxxxxxxxx',
};
const HOST = 'akaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net';
const FIXED = {
  timestamp: '20140321T19:34:21+0000',
  nonce: 'nonce-xx-xxxx-xxxx-xxxx-xxxxxxxxxxxx',
  maxBodyBytes: 2048,
};
const HEADERS_TO_SIGN = ['X-Test1', 'X-Test2', 'X-Test3'];
const PREFIX =
  'EG1-HMAC-SHA256 client_token=akab-client-token-xxx-xxxxxxxxxxxxxxxx;access_token=akab-access-token-xxx-xxxxxxxxxxxxxxxx;timestamp=20140321T19:34:21+0000;nonce=nonce-xx-xxxx-xxxx-xxxx-xxxxxxxxxxxx;signature=';

interface Vector {
  name: string;
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
  maxBodyBytes?: number;
  signature: string;
}

const VECTORS: Vector[] = [
  { name: 'simple GET', method: 'GET', path: '/', signature: 'tL+y4hxyHxgWVD30X3pWnGKHcPzmrIF+LThiAOhMxYU=' },
  {
    name: 'GET with querystring',
    method: 'GET',
    path: '/testapi/v1/t1?p1=1&p2=2',
    signature: 'hKDH1UlnQySSHjvIcZpDMbQHihTQ0XyVAKZaApabdeA=',
  },
  {
    name: 'POST inside limit',
    method: 'POST',
    path: '/testapi/v1/t3',
    body: 'datadatadatadatadatadatadatadata',
    signature: 'hXm4iCxtpN22m4cbZb4lVLW5rhX8Ca82vCFqXzSTPe4=',
  },
  {
    name: 'POST uses passed max-body',
    method: 'POST',
    path: '/testapi/v1/t3',
    body: 'datadatadatadatadatadatadatadata',
    maxBodyBytes: 10,
    signature: 'asJgKWm9tB/YhFByqnOtpcgvmzR+zpTGBgaSY/IhbNA=',
  },
  {
    name: 'POST length equals max-body',
    method: 'POST',
    path: '/testapi/v1/t3',
    body: 'd'.repeat(2048),
    signature: '6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY=',
  },
  {
    name: 'POST too large (hashed up to max-body only)',
    method: 'POST',
    path: '/testapi/v1/t3',
    body: 'd'.repeat(4096),
    signature: '6Q6PiTipLae6n4GsSIDTCJ54bEbHUBp+4MUXrbQCBoY=',
  },
  {
    name: 'POST empty body',
    method: 'POST',
    path: '/testapi/v1/t6',
    body: '',
    signature: '1gEDxeQGD5GovIkJJGcBaKnZ+VaPtrc4qBUHixjsPCQ=',
  },
  {
    name: 'simple header signing with GET',
    method: 'GET',
    path: '/testapi/v1/t4',
    headers: { 'X-Test1': 'test-simple-header' },
    signature: '8F9AybcRw+PLxnvT+H0JRkjROrrUgsxJTnRXMzqvcwY=',
  },
  {
    name: 'header containing spaces',
    method: 'GET',
    path: '/testapi/v1/t4',
    headers: { 'X-Test1': '"     test-header-with-spaces     "' },
    signature: 'ucq2AbjCNtobHfCTuS38fdkl5UDdWHZhQX46fYR8CqI=',
  },
  {
    name: 'header with leading and interior spaces',
    method: 'GET',
    path: '/testapi/v1/t4',
    headers: { 'X-Test1': '     first-thing      second-thing' },
    signature: 'WtnneL539UadAAOJwnsXvPqT4Kt6z7HMgBEwAFpt3+c=',
  },
  {
    name: 'headers out of order',
    method: 'GET',
    path: '/testapi/v1/t4',
    headers: { 'X-Test2': 't2', 'X-Test1': 't1', 'X-Test3': 't3' },
    signature: 'Wus73Nx8jOYM+kkBFF2q8D1EATRIMr0WLWwpLBgkBqY=',
  },
  {
    name: 'extra header (not in the list to sign)',
    method: 'GET',
    path: '/testapi/v1/t5',
    headers: { 'X-Test2': 't2', 'X-Test1': 't1', 'X-Test3': 't3', 'X-Extra': "this won't be included" },
    signature: 'Knd/jc0A5Ghhizjayr0AUUvl2MZjBpS3FDSzvtq4Ixc=',
  },
  {
    name: 'PUT (body not hashed)',
    method: 'PUT',
    path: '/testapi/v1/t6',
    body: 'PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP',
    signature: 'GNBWEYSEWOLtu+7dD52da2C39aX/Jchpon3K/AmBqBU=',
  },
];

/** The SDK signs the configured headers in the configured order, those the request has. */
function signedHeadersOf(headers: Record<string, string> = {}): Array<[string, string]> {
  return HEADERS_TO_SIGN.flatMap((name) => (headers[name] === undefined ? [] : [[name, headers[name]]]));
}

describe('EdgeGrid signing (EG1-HMAC-SHA256)', () => {
  it.each(VECTORS)("reproduces the SDK's vector: $name", (vector) => {
    const request: SignableRequest = {
      method: vector.method,
      scheme: 'https',
      host: HOST,
      pathAndQuery: vector.path,
      ...(vector.body === undefined ? {} : { body: vector.body }),
      signedHeaders: signedHeadersOf(vector.headers),
    };
    const options = { ...FIXED, ...(vector.maxBodyBytes ? { maxBodyBytes: vector.maxBodyBytes } : {}) };
    expect(signEdgeGrid(request, CREDENTIALS, options)).toBe(`${PREFIX}${vector.signature}`);
  });

  it('dates a request as yyyyMMddTHH:mm:ss+0000 in UTC', () => {
    expect(edgeGridTimestamp(new Date(Date.UTC(2014, 2, 21, 19, 34, 21, 999)))).toBe(
      '20140321T19:34:21+0000',
    );
  });

  it('hashes only POST bodies, and a fresh nonce signs each request differently', () => {
    expect(contentHash('GET', 'x', 2048)).toBe('');
    expect(contentHash('post', 'x', 2048)).not.toBe('');
    const request = { method: 'POST', scheme: 'http', host: '127.0.0.1:8080', pathAndQuery: '/', body: '{}' };
    const one = signEdgeGrid(request, CREDENTIALS, { timestamp: FIXED.timestamp });
    const two = signEdgeGrid(request, CREDENTIALS, { timestamp: FIXED.timestamp });
    expect(one).not.toBe(two);
    expect(one).toMatch(/;nonce=[0-9a-f-]{36};signature=[A-Za-z0-9+/]{43}=$/);
  });
});
