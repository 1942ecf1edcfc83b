// The stand-in S3 + SQS server (fauxqs), run as a child process on Node >= 22.5.
// fauxqs's own startFauxqs() always binds 0.0.0.0, so we build its app and listen on loopback
// ourselves. Protocol with the parent: one JSON line on stdout when ready
// ({"ready":true,"port":n}); exit when stdin closes (the parent died) or on SIGTERM/SIGINT.
//
// With --data-dir, state (queues and their messages, in-flight ones included; buckets and objects)
// lives in <dir>/fauxqs.db (SQLite) and survives restarts. fauxqs wires that persistence only in
// startFauxqs(), which we cannot use, so the same wiring is repeated here with its internal modules,
// imported by file URL beside the package entry (its exports map only "."; the version is pinned).
//
// Usage: node standin-server.mjs [--port N] [--region us-east-1] [--data-dir DIR] [--body-limit BYTES]
import { buildApp } from 'fauxqs';

function argValue(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number(argValue('--port') ?? '0');
const region = argValue('--region') ?? 'us-east-1';
const dataDir = argValue('--data-dir');
const bodyLimit = argValue('--body-limit') === undefined ? undefined : Number(argValue('--body-limit'));

/** Stores loaded from dataDir and wired to persist every change, as startFauxqs() does. */
async function persistentStores(dir) {
  // The entry's URL (dist/app.js); files beside it are imported by URL, which no exports map governs.
  const entry = import.meta.resolve('fauxqs');
  const internal = (file) => import(new URL(file, entry).href);
  const [{ PersistenceManager }, { SqsStore }, { SnsStore }, { S3Store }] = await Promise.all([
    internal('persistence.js'),
    internal('sqs/sqsStore.js'),
    internal('sns/snsStore.js'),
    internal('s3/s3Store.js'),
  ]);
  const sqsStore = new SqsStore();
  const snsStore = new SnsStore();
  const s3Store = new S3Store();
  const persistence = new PersistenceManager(dir);
  // Load before attaching persistence, so loading does not write every row back (fauxqs's order).
  persistence.load(sqsStore, snsStore, s3Store);
  sqsStore.persistence = persistence;
  snsStore.persistence = persistence;
  for (const queue of sqsStore.allQueues()) queue.persistence = persistence;
  s3Store.persistence = persistence;
  return { stores: { sqsStore, snsStore, s3Store }, persistence };
}

const persisted = dataDir ? await persistentStores(dataDir) : undefined;
const app = buildApp({ logger: false, defaultRegion: region, stores: persisted?.stores });
if (persisted) app.addHook('preClose', () => persisted.persistence.close());
if (bodyLimit !== undefined) raiseObjectBodyLimit(app, bodyLimit);
storeObjectsAsSent(app, bodyLimit);

/**
 * fauxqs builds Fastify with an 11 MiB body limit and offers no option for it. S3 bodies (PutObject,
 * UploadPart, POST uploads) go through its catch-all binary parser, whose limit was copied from the
 * app's at registration: raise that parser's alone (SQS/SNS bodies keep theirs). Fastify 5 keeps
 * parsers under the contentTypeParser symbol, the catch-all under ''; fail loudly if that changes.
 */
function raiseObjectBodyLimit(fastify, limit) {
  if (!Number.isInteger(limit) || limit <= 0) throw new Error(`--body-limit must be a positive integer, not ${limit}`);
  const key = Object.getOwnPropertySymbols(fastify).find((s) => s.description === 'fastify.contentTypeParser');
  const catchAll = key && fastify[key].customParsers?.get('');
  if (!catchAll || typeof catchAll.bodyLimit !== 'number') throw new Error('cannot raise the stand-in body limit: Fastify internals changed');
  catchAll.bodyLimit = Math.max(catchAll.bodyLimit, limit);
}

/**
 * fauxqs parses every application/x-www-form-urlencoded body into an object for its Query routes
 * (SNS, STS on "/"), so an S3 PutObject or UploadPart with that Content-Type reached its S3 routes
 * as an object instead of bytes (HTTP 500 ERR_INVALID_ARG_TYPE). Replace that parser with one that
 * parses the form only for "/" and hands S3 paths their bytes, as S3 stores them. A PUT with no
 * body and no Content-Type (the AWS CLI's `put-object` without `--body`) reached them with no
 * body at all (the same 500): it is an empty object.
 */
function storeObjectsAsSent(fastify, limit) {
  const type = 'application/x-www-form-urlencoded';
  if (!fastify.hasContentTypeParser(type)) throw new Error('cannot replace the form parser: fauxqs no longer registers one');
  fastify.removeContentTypeParser(type);
  const options = limit === undefined ? { parseAs: 'buffer' } : { parseAs: 'buffer', bodyLimit: limit };
  fastify.addContentTypeParser(type, options, (request, body, done) => {
    if (request.url.split('?')[0] !== '/') return done(null, body);
    done(null, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
  });
  fastify.addHook('preHandler', (request, _reply, next) => {
    if (request.method === 'PUT' && request.body === undefined) request.body = Buffer.alloc(0);
    next();
  });
}

let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try {
    await app.close();
  } finally {
    process.exit(code);
  }
}

process.on('SIGTERM', () => void shutdown(0));
process.on('SIGINT', () => void shutdown(0));
process.stdin.on('end', () => void shutdown(0));
process.stdin.on('error', () => void shutdown(0));
process.stdin.resume();

try {
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(JSON.stringify({ ready: true, port: address.port }) + '\n');
} catch (err) {
  process.stderr.write(JSON.stringify({ ready: false, error: String(err && err.message ? err.message : err) }) + '\n');
  process.exit(1);
}
