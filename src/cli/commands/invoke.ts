/**
 * `resize-chain invoke <handler> --event <file>`: one invocation of one handler image, the way
 * `docker run -p 9000:8080` + the RIE + `curl` does it, without the RIE: a container of the image polls
 * our Runtime API, and the event is POSTed to that API's RIE-compatible endpoint.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { configError } from '../../core/errors';
import { defaultImage, startContainerFunction } from '../../local/cloud/lambda/container-host';
import type { LogSink } from '../../local/cloud/lambda/invoke-contract';
import type { CommandUsage } from '../usage';

/** `resize-chain invoke`: the options it reads and the help shown for them. */
export const INVOKE_USAGE = {
  name: 'invoke',
  allowPositionals: true,
  options: {
    event: { type: 'string', shown: '<file|->', required: true },
    image: { type: 'string', shown: 'IMAGE' },
    env: { type: 'string', multiple: true, shown: 'K=V' },
    timeout: { type: 'string', shown: '30' },
  },
  forms: [
    {
      positionals: '<handler>',
      shows: ['event', 'image', 'env', 'timeout'],
      description: [
        'Invoke one handler image once (a container polling our Runtime API, the event POSTed to its',
        'RIE-compatible endpoint); print the response. Exit 1 with the error document on a function error.',
      ].join('\n'),
    },
  ],
} satisfies CommandUsage;

export interface InvokeCommandOptions {
  /** 'resize' or 'publish' (containers/<handler>/). */
  handler: string;
  /** File holding the event JSON ('-' reads stdin). */
  eventFile: string;
  /** @default defaultImage(handler) */
  image?: string;
  /** Function environment, e.g. OUTPUT_BUCKET. @default {} */
  env?: Record<string, string>;
  /** @default 30 */
  timeoutSeconds?: number;
  /** Function and platform log lines. @default JSON lines on stderr */
  logSink?: LogSink;
  /** Where the response or error document goes. @default stdout */
  out?: NodeJS.WritableStream;
}

export interface InvokeOutcome {
  /** 0 when the function returned, 1 on a function error (error document printed). */
  exitCode: number;
  body: string;
  functionError: boolean;
}

async function readEvent(file: string): Promise<string> {
  const text =
    file === '-'
      ? await new Promise<string>((resolve, reject) => {
          let data = '';
          process.stdin
            .setEncoding('utf8')
            .on('data', (c: string) => (data += c))
            .on('end', () => resolve(data))
            .on('error', reject);
        })
      : await readFile(file, 'utf8');
  try {
    JSON.parse(text);
  } catch (err) {
    throw configError('event', `${file} is not JSON: ${(err as Error).message}`);
  }
  return text;
}

/** POSTs like `curl -d @event http://host:port/2015-03-31/functions/function/invocations`. */
function post(port: number, body: string): Promise<{ status: number; functionError: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/2015-03-31/functions/function/invocations',
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (text += c))
          .on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              functionError: res.headers['x-amz-function-error'] !== undefined,
              body: text,
            }),
          );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs the invocation; the container is stopped before this resolves. */
export async function invokeCommand(opts: InvokeCommandOptions): Promise<InvokeOutcome> {
  if (!/^[a-z0-9-]+$/.test(opts.handler))
    throw configError('handler', `${JSON.stringify(opts.handler)} is not a handler name (e.g. resize, publish)`);
  const event = await readEvent(opts.eventFile);
  const fn = await startContainerFunction({
    name: `image-${opts.handler}`,
    image: opts.image ?? defaultImage(opts.handler),
    env: opts.env,
    timeoutSeconds: opts.timeoutSeconds ?? 30,
    logSink: opts.logSink ?? ((line) => process.stderr.write(`${JSON.stringify(line)}\n`)),
  });
  try {
    const res = await post(fn.runtimeApi.port, event);
    (opts.out ?? process.stdout).write(`${res.body}\n`);
    const failed = res.functionError || res.status !== 200;
    return { exitCode: failed ? 1 : 0, body: res.body, functionError: failed };
  } finally {
    await fn.stop();
  }
}
