/**
 * AWS's JSON protocols (awsJson 1.0 / 1.1: CloudWatch Logs, KMS, ECR, EventBridge, …), both ways:
 * the operation named in `X-Amz-Target: <prefix>.<Operation>`, a JSON body in, a JSON body out,
 * errors as `{"__type":"<Code>","message"}` with the `x-amzn-ErrorType` header the SDKs read first.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** An AWS error in the JSON protocols' terms. */
export class JsonError extends Error {
  /** @param code e.g. 'ResourceNotFoundException' @param status @default 400 */
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** A JSON-protocol service: its target prefix and its operations by name. */
export interface JsonService {
  /** e.g. 'Logs_20140328' */
  readonly targetPrefix: string;
  /** @default 'application/x-amz-json-1.1' */
  readonly contentType?: string;
  /** Each takes the request body and returns (or resolves with) the answer's body. */
  readonly operations: Readonly<
    Record<string, (input: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>>
  >;
}

/** Writes a JSON-protocol error. @param contentType @default 'application/x-amz-json-1.1' */
export function sendJsonError(res: ServerResponse, error: JsonError, contentType = 'application/x-amz-json-1.1'): void {
  const body = JSON.stringify({ __type: error.code, message: error.message });
  res.writeHead(error.status, {
    'content-type': contentType,
    'x-amzn-errortype': error.code,
    'x-amzn-requestid': randomUUID(),
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** The error AWS answers a target the service does not have with. */
export function unknownOperation(description: string): JsonError {
  return new JsonError('UnknownOperationException', `${description} is not served by the local cloud`);
}

/**
 * Answers one JSON-protocol request of `service`: the operation's result, its JsonError, a
 * SerializationException for a body that is not a JSON object, or UnknownOperationException.
 * Other errors are answered as a 500 InternalFailure and returned as `fault` for the caller to log.
 */
export async function answerJson(
  res: ServerResponse,
  service: JsonService,
  target: string,
  body: string,
): Promise<{ operation: string; error?: JsonError; fault?: unknown }> {
  const contentType = service.contentType ?? 'application/x-amz-json-1.1';
  const operation = target.startsWith(`${service.targetPrefix}.`) ? target.slice(service.targetPrefix.length + 1) : '';
  const handler = operation && Object.hasOwn(service.operations, operation) ? service.operations[operation] : undefined;
  try {
    if (!handler) throw unknownOperation(target || 'a request without X-Amz-Target');
    let input: unknown;
    try {
      input = body.trim() === '' ? {} : JSON.parse(body);
    } catch {
      throw new JsonError('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new JsonError('SerializationException', 'Start of structure or map found where not expected.');
    const answer = JSON.stringify(await handler(input as Record<string, unknown>));
    res.writeHead(200, {
      'content-type': contentType,
      'x-amzn-requestid': randomUUID(),
      'content-length': Buffer.byteLength(answer),
    });
    res.end(answer);
    return { operation };
  } catch (err) {
    const error =
      err instanceof JsonError
        ? err
        : new JsonError(
            'InternalFailure',
            'The request processing has failed because of an unknown error, exception or failure.',
            500,
          );
    sendJsonError(res, error, contentType);
    return err instanceof JsonError ? { operation, error } : { operation, error, fault: err };
  }
}
