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
// Two defects of fauxqs 2.4.1 are patched here, before any request (patchFauxqs below); the patch
// checks the version and the shapes it replaces and refuses to start when either changed.
//
// Usage: node standin-server.mjs [--port N] [--region us-east-1] [--data-dir DIR] [--body-limit BYTES]
import { readFileSync } from 'node:fs';
import { buildApp } from 'fauxqs';

function argValue(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number(argValue('--port') ?? '0');
const region = argValue('--region') ?? 'us-east-1';
const dataDir = argValue('--data-dir');
const bodyLimit = argValue('--body-limit') === undefined ? undefined : Number(argValue('--body-limit'));

// The entry's URL (dist/app.js); files beside it are imported by URL, which no exports map governs.
const fauxqsEntry = import.meta.resolve('fauxqs');
const internal = (file) => import(new URL(file, fauxqsEntry).href);

/** The fauxqs version the patches below were written against (package.json pins it). */
const PATCHED_FAUXQS_VERSION = '2.4.1';

/** Refuses to go on when a patched part of fauxqs is not what the patch expects. */
function expectShape(condition, what) {
  if (!condition) {
    throw new Error(
      `fauxqs ${PATCHED_FAUXQS_VERSION} patch: ${what}; fauxqs changed, review the patches in standin-server.mjs`,
    );
  }
}

/**
 * Patches two defects of fauxqs 2.4.1 in place (its classes are shared with buildApp's app):
 *
 * 1. ChangeMessageVisibility(Batch) with VisibilityTimeout 0 on a persistent store: SqsQueue
 *    removes the message from its in-flight set, then PersistenceManager.updateMessageReady writes
 *    NULL into the NOT NULL approximate_receive_count column; the write throws (HTTP 500), and the
 *    message is neither visible nor in flight until a restart. The replacement clears only the
 *    receipt handle and the visibility deadline: the receive count stays, as SQS keeps it.
 * 2. ApproximateNumberOf* counts come from the in-memory sets, which only move expired in-flight
 *    (and due delayed) messages back when a receive runs: a message whose visibility ended long
 *    ago still counts as not visible. The counts now settle the timers first, as a receive does.
 */
async function patchFauxqs() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', fauxqsEntry), 'utf8'));
  expectShape(pkg.version === PATCHED_FAUXQS_VERSION, `found version ${pkg.version}`);
  const [{ PersistenceManager }, { SqsQueue }] = await Promise.all([
    internal('persistence.js'),
    internal('sqs/sqsStore.js'),
  ]);

  const ready = PersistenceManager?.prototype?.updateMessageReady;
  expectShape(
    typeof ready === 'function' &&
      /updateMessageInflight\.run\(null, null, null, null, messageId\)/.test(String(ready)),
    'PersistenceManager.updateMessageReady is not the one that writes NULL receive counts',
  );
  const clearInflight = new WeakMap();
  PersistenceManager.prototype.updateMessageReady = function updateMessageReady(messageId) {
    expectShape(typeof this.db?.prepare === 'function', 'PersistenceManager has no SQLite db');
    let statement = clearInflight.get(this);
    if (!statement) {
      statement = this.db.prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      );
      clearInflight.set(this, statement);
    }
    statement.run(messageId);
  };

  const getAllAttributes = SqsQueue?.prototype?.getAllAttributes;
  expectShape(
    typeof getAllAttributes === 'function' && typeof SqsQueue.prototype.processTimers === 'function',
    'SqsQueue has no getAllAttributes/processTimers',
  );
  SqsQueue.prototype.getAllAttributes = function getAllAttributesSettled(requested) {
    this.processTimers();
    return getAllAttributes.call(this, requested);
  };
}

/** Stores loaded from dataDir and wired to persist every change, as startFauxqs() does. */
async function persistentStores(dir) {
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

await patchFauxqs();
const persisted = dataDir ? await persistentStores(dataDir) : undefined;
const app = buildApp({ logger: false, defaultRegion: region, stores: persisted?.stores });
if (persisted) app.addHook('preClose', () => persisted.persistence.close());
if (bodyLimit !== undefined) raiseObjectBodyLimit(app, bodyLimit);
storeObjectsAsSent(app, bodyLimit);
frameHeadAnswers(app);

/**
 * fauxqs answers a HEAD of a missing key with neither Content-Length nor Transfer-Encoding, and an
 * HTTP/1.1 client cannot tell where such an answer ends: Node's closes the connection after each one,
 * so every 404 HEAD (the handlers' "was this done before?" checks) cost a new connection through the
 * gateway. A HEAD answer without a length now says Content-Length: 0, as the gateway's own HEAD
 * answers do; HEAD answers carry no body either way.
 */
function frameHeadAnswers(fastify) {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (request.method === 'HEAD' && !reply.hasHeader('content-length') && !reply.hasHeader('transfer-encoding'))
      reply.header('content-length', '0');
    done(null, payload);
  });
}

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
  if (!catchAll || typeof catchAll.bodyLimit !== 'number')
    throw new Error('cannot raise the stand-in body limit: Fastify internals changed');
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
  if (!fastify.hasContentTypeParser(type))
    throw new Error('cannot replace the form parser: fauxqs no longer registers one');
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
