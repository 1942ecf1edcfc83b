/**
 * The stand-in's side of SNS: the stand-in carries the messages (Publish, Subscribe, deliveries to
 * SQS), the control plane (sns-api.ts) the topics' configuration, which the stand-in only partly
 * knows (it refuses the provider's SetTopicAttributes of KmsMasterKeyId, for one). So each topic
 * the control plane creates or deletes is created or deleted in the stand-in too, by name, and
 * every other SNS action is forwarded to the stand-in as it came.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { QueryParams } from '../query-protocol';

/** Headers not passed on: the connection's own, and the length (the body may be re-encoded). */
const NOT_FORWARDED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'expect']);

/** What the control plane asks of the stand-in's SNS. */
export interface StandInTopics {
  /** Creates the stand-in's topic for a CreateTopic request (its name and FIFO-ness only); rejects on a refusal. */
  create(params: QueryParams, headers: IncomingMessage['headers']): Promise<void>;
  /** Deletes the stand-in's topic `topicArn` (a topic it does not have is no error, as on SNS). */
  delete(topicArn: string, headers: IncomingMessage['headers']): Promise<void>;
  /** Sends the request (its body already read) to the stand-in and its answer back to `res`. */
  forward(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void>;
}

function forwardedHeaders(headers: IncomingMessage['headers'], length: number): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!NOT_FORWARDED.has(name) && value !== undefined) out[name] = value;
  out['content-length'] = length;
  return out;
}

/** One POST to the stand-in; resolves with its status and body. */
function post(
  upstream: URL,
  path: string,
  headers: IncomingMessage['headers'],
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        // One connection per call, closed after it: nothing kept open to hold the stand-in's stop up.
        agent: false,
        hostname: upstream.hostname,
        port: upstream.port,
        method: 'POST',
        path,
        headers: forwardedHeaders(headers, body.length),
      },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: Buffer.concat(chunks) }),
        );
        answer.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** The stand-in's SNS at `upstream` (the stand-in's endpoint). */
export function standInTopics(upstream: string): StandInTopics {
  const base = new URL(upstream);
  const form = (fields: Record<string, string>): Buffer => Buffer.from(new URLSearchParams(fields).toString());

  return {
    async create(params, headers) {
      const fields: Record<string, string> = {
        Action: 'CreateTopic',
        Version: params.Version ?? '2010-03-31',
        Name: params.Name ?? '',
      };
      for (let i = 1; params[`Attributes.entry.${i}.key`] !== undefined; i += 1) {
        if (params[`Attributes.entry.${i}.key`] !== 'FifoTopic') continue;
        fields['Attributes.entry.1.key'] = 'FifoTopic';
        fields['Attributes.entry.1.value'] = params[`Attributes.entry.${i}.value`] ?? '';
      }
      const answer = await post(base, '/', headers, form(fields));
      if (answer.status >= 300)
        throw new Error(
          `the stand-in refused CreateTopic ${fields.Name} (${answer.status}): ${answer.body.toString('utf8')}`,
        );
    },
    async delete(topicArn, headers) {
      const answer = await post(
        base,
        '/',
        headers,
        form({ Action: 'DeleteTopic', Version: '2010-03-31', TopicArn: topicArn }),
      );
      if (answer.status >= 300 && answer.status !== 404)
        throw new Error(
          `the stand-in refused DeleteTopic ${topicArn} (${answer.status}): ${answer.body.toString('utf8')}`,
        );
    },
    async forward(req, res, body) {
      const answer = await post(base, req.url ?? '/', req.headers, body);
      const headers = { ...answer.headers };
      delete headers['transfer-encoding'];
      delete headers.connection;
      res.writeHead(answer.status, { ...headers, 'content-length': answer.body.length });
      res.end(answer.body);
    },
  };
}
