/**
 * CloudFront's REST-XML wire format (API 2020-05-31) as the simulator speaks it: routes, the
 * InvalidationBatch body, the Invalidation / InvalidationList documents and the ErrorResponse shape.
 * Written from the API reference, independently of the SDK the client uses.
 */
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Fault, Reply } from './faults.ts';

export const API_VERSION = '2020-05-31';
export const XMLNS = `http://cloudfront.amazonaws.com/doc/${API_VERSION}/`;
const PROLOG = '<?xml version="1.0"?>\n';
export const XML_CONTENT_TYPE = 'text/xml';

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_' });

export function xmlReply(
  status: number,
  root: Record<string, unknown>,
  headers: Record<string, string> = {},
): Reply {
  return {
    status,
    headers: { 'content-type': XML_CONTENT_TYPE, ...headers },
    body: `${PROLOG}${builder.build(root)}`,
  };
}

/** `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`, CloudFront's shape. */
export function errorReply(status: number, code: string, message: string, requestId: string): Reply {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return xmlReply(status, {
    ErrorResponse: {
      '@_xmlns': XMLNS,
      Error: { Type: type, Code: code, Message: message },
      RequestId: requestId,
    },
  });
}

/** A fault whose answer is one of CloudFront's error documents (Throttling is a 400, not a 429). */
export function errorFault(status: number, code: string, message: string, extra: Partial<Fault> = {}): Fault {
  const { body } = errorReply(status, code, message, '00000000-0000-4000-8000-000000000000');
  return { kind: 'status', status, body, contentType: XML_CONTENT_TYPE, ...extra } as Fault;
}

export const THROTTLING_FAULT: Fault = errorFault(400, 'Throttling', 'Rate exceeded');
export const SERVICE_UNAVAILABLE_FAULT: Fault = errorFault(
  503,
  'ServiceUnavailable',
  'CloudFront encountered an internal error. Please try again.',
);

export type Route =
  | { op: 'submit'; distributionId: string }
  | { op: 'list'; distributionId: string }
  | { op: 'status'; distributionId: string; id: string }
  | { op: 'unknown' };

const BASE = new RegExp(`^/${API_VERSION}/distribution/([^/]+)/invalidation(?:/([^/]+))?/?$`);

export function route(method: string, pathname: string): Route {
  const match = BASE.exec(pathname);
  if (!match?.[1]) return { op: 'unknown' };
  const distributionId = decodeURIComponent(match[1]);
  if (match[2] !== undefined) {
    return method === 'GET'
      ? { op: 'status', distributionId, id: decodeURIComponent(match[2]) }
      : { op: 'unknown' };
  }
  if (method === 'POST') return { op: 'submit', distributionId };
  if (method === 'GET') return { op: 'list', distributionId };
  return { op: 'unknown' };
}

export interface InvalidationBatch {
  paths: string[];
  callerReference: string;
}

export type Refusal = { status: number; code: string; message: string };

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'Path',
});

const MAX_PATH_CHARS = 4000;
const INVALID_PATHS = 'Your request contains one or more invalid invalidation paths.';

/**
 * Reads and validates `<InvalidationBatch>`: Quantity must equal the number of Path elements, every path
 * starts with `/` (or `#`, a cache tag, on a distribution with CacheTagConfig), a `*` only as the last
 * character, at most 4,000 characters each.
 */
export function parseInvalidationBatch(raw: string, cacheTags: boolean): InvalidationBatch | Refusal {
  if (raw.trim() === '')
    return { status: 400, code: 'MissingBody', message: 'This operation requires a body.' };
  if (/<!DOCTYPE|<!ENTITY/i.test(raw)) return malformed('DOCTYPE is not allowed');
  if (XMLValidator.validate(raw) !== true) return malformed('the body is not well-formed XML');
  const doc = parser.parse(raw) as Record<string, unknown>;
  const batch = doc.InvalidationBatch as Record<string, unknown> | undefined;
  if (batch === null || typeof batch !== 'object') return malformed('missing InvalidationBatch');
  const paths = batch.Paths as Record<string, unknown> | undefined;
  const reference = batch.CallerReference;
  if (typeof reference !== 'string' || reference.trim() === '')
    return { status: 400, code: 'InvalidArgument', message: 'CallerReference is required.' };
  if (paths === null || typeof paths !== 'object' || typeof paths.Quantity !== 'string')
    return { status: 400, code: 'InvalidArgument', message: 'Paths.Quantity is required.' };
  const quantity = Number(paths.Quantity);
  const items = paths.Items as Record<string, unknown> | '' | undefined;
  const list = items && typeof items === 'object' ? items.Path : [];
  if (!Array.isArray(list) || !list.every((p): p is string => typeof p === 'string'))
    return malformed('Paths.Items must hold Path elements');
  if (!Number.isInteger(quantity) || quantity !== list.length) {
    return {
      status: 400,
      code: 'InconsistentQuantities',
      message: "The value of Quantity and the size of Items don't match.",
    };
  }
  if (list.length === 0) return { status: 400, code: 'InvalidArgument', message: INVALID_PATHS };
  for (const path of list) {
    const tag = path.startsWith('#');
    if (tag && !cacheTags) return { status: 400, code: 'InvalidArgument', message: INVALID_PATHS };
    if (!tag && !path.startsWith('/'))
      return { status: 400, code: 'InvalidArgument', message: INVALID_PATHS };
    if (path.length > MAX_PATH_CHARS) return { status: 400, code: 'InvalidArgument', message: INVALID_PATHS };
    const star = path.indexOf('*');
    if (star >= 0 && (tag || star !== path.length - 1))
      return { status: 400, code: 'InvalidArgument', message: INVALID_PATHS };
  }
  return { paths: list, callerReference: reference };
}

function malformed(detail: string): Refusal {
  return { status: 400, code: 'MalformedInput', message: `Could not parse the request body: ${detail}` };
}

export interface InvalidationView {
  id: string;
  status: 'InProgress' | 'Completed';
  createTime: string;
  paths: readonly string[];
  callerReference: string;
}

export function invalidationDocument(invalidation: InvalidationView): Record<string, unknown> {
  return {
    Invalidation: {
      '@_xmlns': XMLNS,
      Id: invalidation.id,
      Status: invalidation.status,
      CreateTime: invalidation.createTime,
      InvalidationBatch: {
        Paths: { Quantity: invalidation.paths.length, Items: { Path: [...invalidation.paths] } },
        CallerReference: invalidation.callerReference,
      },
    },
  };
}

export function listDocument(
  entries: readonly InvalidationView[],
  marker: string,
  maxItems: number,
  nextMarker: string | undefined,
): Record<string, unknown> {
  return {
    InvalidationList: {
      '@_xmlns': XMLNS,
      Marker: marker,
      ...(nextMarker === undefined ? {} : { NextMarker: nextMarker }),
      MaxItems: maxItems,
      IsTruncated: nextMarker !== undefined,
      Quantity: entries.length,
      ...(entries.length === 0
        ? {}
        : {
            Items: {
              InvalidationSummary: entries.map((e) => ({
                Id: e.id,
                CreateTime: e.createTime,
                Status: e.status,
              })),
            },
          }),
    },
  };
}
