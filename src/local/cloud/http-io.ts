/**
 * Reading request bodies and writing answers, the same way for every API the local endpoint serves
 * (the gateway's routes, the Kinesis and Lambda APIs, the upload API, the Runtime API).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Reads a request body, or `undefined` as soon as it passes `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers `res` with a text body; `content-length` is set from it, every other header is the caller's. */
export function sendText(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers `res` with `value` as JSON. `headers` add to (or replace) the content type.
 * @default content-type application/json
 */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders = {}): void {
  sendText(res, status, JSON.stringify(value), { 'content-type': 'application/json', ...headers });
}

/** True when the request came over TLS (the endpoint's https side): `aws:SecureTransport`. */
export function cameOverTls(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}
