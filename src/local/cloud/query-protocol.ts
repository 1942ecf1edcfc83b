/**
 * AWS's Query protocol (IAM, STS; SNS and SQS's older form), both ways: form-encoded parameters in,
 * with lists flattened as `Name.member.N[.Field]`, and `<ActionResponse><ActionResult>…` XML out,
 * errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 * Also tells which service a request was signed for (the SigV4 credential scope), which is how the
 * gateway routes control-plane calls that share one endpoint and one protocol.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PLAIN_DECLARATION, xmlDocument, type XmlContent, type XmlElements } from './xml';

/** The request's parameters (Action, Version and the operation's own). */
export type QueryParams = Readonly<Record<string, string>>;

/** An AWS error in the Query protocol's terms. */
export class QueryError extends Error {
  /**
   * @param code AWS's error code, e.g. 'NoSuchEntity'
   * @param status the HTTP status AWS answers it with. @default 400
   * @param type 'Sender' (the caller's fault) or 'Receiver'. @default 'Sender'
   */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly type: 'Sender' | 'Receiver' = 'Sender',
  ) {
    super(message);
  }
}

/** A result element's content: nested objects become elements, `{ member: [...] }` a list. */
export type QueryValue = string | number | boolean | undefined | QueryValue[] | { [name: string]: QueryValue };

/**
 * The service and region a SigV4-signed request names in its credential scope (header or presigned query), else
 * undefined.
 */
export function signingScope(req: IncomingMessage): { service: string; region: string } | undefined {
  const authorization = req.headers.authorization ?? '';
  const fromHeader = /Credential=[^/,\s]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (fromHeader) return { region: fromHeader[1], service: fromHeader[2] };
  const query = (req.url ?? '').split('?')[1];
  const credential = query ? new URLSearchParams(query).get('X-Amz-Credential') : null;
  const fromQuery = credential ? /^[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request$/.exec(credential) : null;
  return fromQuery ? { region: fromQuery[1], service: fromQuery[2] } : undefined;
}

/** Parses a form-encoded Query body. */
export function parseQueryParams(body: string): QueryParams {
  return Object.fromEntries(new URLSearchParams(body));
}

/** The list `name.member.1`, `name.member.2`, … as strings, in order. */
export function memberStrings(params: QueryParams, name: string): string[] {
  const values: string[] = [];
  for (let i = 1; params[`${name}.member.${i}`] !== undefined; i += 1) values.push(params[`${name}.member.${i}`]);
  return values;
}

/** The list `name.member.N.Field` as one record per N, in order (e.g. Tags: Key, Value). */
export function memberRecords(params: QueryParams, name: string): Array<Record<string, string>> {
  const records: Array<Record<string, string>> = [];
  for (let i = 1; ; i += 1) {
    const prefix = `${name}.member.${i}.`;
    const fields = Object.entries(params).filter(([key]) => key.startsWith(prefix));
    if (fields.length === 0) return records;
    records.push(Object.fromEntries(fields.map(([key, value]) => [key.slice(prefix.length), value])));
  }
}

/** A list element's content: `<member>` per item, as the Query protocol writes lists. */
export function members(items: readonly QueryValue[]): { member: QueryValue[] } {
  return { member: [...items] };
}

/** A result value as XML content: numbers and booleans as their text, undefined members left out. */
function toXml(value: QueryValue): XmlContent | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(toXml).filter((item): item is XmlContent => item !== undefined);
  return toXmlElements(value);
}

function toXmlElements(record: Readonly<Record<string, QueryValue>>): XmlElements {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, toXml(value)]));
}

/**
 * `<{action}Response xmlns><{action}Result>…</…><ResponseMetadata><RequestId/></…></…>`; no Result element when
 * `result` is undefined.
 */
export function queryResponseXml(
  action: string,
  xmlns: string,
  result: Record<string, QueryValue> | undefined,
  requestId: string,
): string {
  const body: Record<string, XmlContent> = { '@_xmlns': xmlns };
  if (result !== undefined) body[`${action}Result`] = toXmlElements(result);
  body.ResponseMetadata = { RequestId: requestId };
  return xmlDocument({ [`${action}Response`]: body }, PLAIN_DECLARATION);
}

/** AWS's Query-protocol error document. */
export function queryErrorXml(error: QueryError, requestId: string, xmlns?: string): string {
  const body: Record<string, XmlContent> = xmlns ? { '@_xmlns': xmlns } : {};
  body.Error = { Type: error.type, Code: error.code, Message: error.message };
  body.RequestId = requestId;
  return xmlDocument({ ErrorResponse: body }, PLAIN_DECLARATION);
}

/** Writes an XML answer with the request id headers AWS sends. */
export function sendXml(res: ServerResponse, status: number, xml: string, requestId: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml',
    'x-amzn-requestid': requestId,
    'content-length': Buffer.byteLength(xml),
  });
  res.end(xml);
}

/** A Query-protocol service: its XML namespace and its operations by Action name. */
export interface QueryService {
  /** e.g. 'https://iam.amazonaws.com/doc/2010-05-08/' */
  readonly xmlns: string;
  /** Each returns the Result element's content, or undefined for an operation that has none. */
  readonly operations: Readonly<Record<string, (params: QueryParams) => Record<string, QueryValue> | undefined>>;
}

/** The error AWS answers an Action the service does not have with. */
export function invalidAction(action: string | undefined, version: string | undefined): QueryError {
  if (!action) return new QueryError('MissingAction', 'Missing Action');
  return new QueryError(
    'InvalidAction',
    `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
  );
}

/**
 * Answers one Query request of `service` (its parsed body in `params`): the operation's result, its
 * QueryError, or InvalidAction for an Action the service lacks. Other errors are the caller's to log
 * (answered as a 500 InternalFailure, as AWS reports its own faults).
 */
export function answerQuery(
  res: ServerResponse,
  service: QueryService,
  params: QueryParams,
): { action: string; error?: QueryError; fault?: unknown } {
  const requestId = randomUUID();
  const action = params.Action ?? '';
  const operation = Object.hasOwn(service.operations, action) ? service.operations[action] : undefined;
  try {
    if (!operation) throw invalidAction(params.Action, params.Version);
    sendXml(res, 200, queryResponseXml(action, service.xmlns, operation(params), requestId), requestId);
    return { action };
  } catch (err) {
    const error =
      err instanceof QueryError
        ? err
        : new QueryError(
            'InternalFailure',
            'The request processing has failed because of an unknown error, exception or failure.',
            500,
            'Receiver',
          );
    sendXml(res, error.status, queryErrorXml(error, requestId, service.xmlns), requestId);
    return err instanceof QueryError ? { action, error } : { action, error, fault: err };
  }
}
