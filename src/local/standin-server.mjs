// The stand-in S3 + SQS server (fauxqs), run as a child process on Node >= 22.5.
// fauxqs's own startFauxqs() always binds 0.0.0.0, so we build its app and listen on loopback
// ourselves. Protocol with the parent: one JSON line on stdout when ready
// ({"ready":true,"port":n}); exit when stdin closes (the parent died) or on SIGTERM/SIGINT.
//
// Usage: node standin-server.mjs [--port N] [--region us-east-1]
import { buildApp } from 'fauxqs';

function argValue(name) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const port = Number(argValue('--port') ?? '0');
const region = argValue('--region') ?? 'us-east-1';

const app = buildApp({ logger: false, defaultRegion: region });

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
