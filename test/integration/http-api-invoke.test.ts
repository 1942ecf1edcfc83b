/**
 * An HTTP API applied by Terraform reaches its function: the gateway in process with a
 * FunctionInvoker that knows one function, the repository's upload handler under aws-lambda-ric;
 * the real terraform binary and AWS provider apply the API, stage, JWT authorizer, routes and
 * AWS_PROXY integration of test/fixtures/terraform-http-api-stream to it (streams left out with
 * -target), and node's fetch calls the API's endpoint over HTTP. The JWT authorizer checks tokens
 * against a real issuer: a small OpenID server in this test with its own RSA key.
 *
 * Needs terraform and the provider mirror: skipped loudly without them, failing under CI=true.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { terraformOverride, TF_OVERRIDE_FILE } from '../../src/local/terraform-provider';
import type { LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_CREDENTIALS } from '../../src/local/client-config';
import { NodeSha256 } from '../../src/local/cloud/iam/sigv4-verify';
import { describeWhen } from '../helpers/requires';
import { startTestCloud, startUploadFunction, type TestCloud } from '../helpers/local-cloud';
import { findOfflineTerraform, runTerraformAsync, writeCliConfig } from '../module/terraform-cli';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'terraform-http-api-stream', 'main.tf');
const terraform = findOfflineTerraform();

/** A JWT issuer on 127.0.0.1: OpenID discovery, its key set, and tokens signed with its key. */
async function startIssuer(): Promise<{
  url: string;
  token(claims: Record<string, unknown>): string;
  stop(): Promise<void>;
}> {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
  let url = '';
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: url, jwks_uri: `${url}/jwks` }
        : req.url === '/jwks'
          ? { keys: [jwk] }
          : undefined;
    res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    url,
    token(claims) {
      const signed = `${part({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })}.${part(claims)}`;
      return `${signed}.${sign('sha256', Buffer.from(signed), privateKey).toString('base64url')}`;
    },
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describeWhen(terraform.missing, 'an applied HTTP API invokes its function through the injected invoker', () => {
  const name = `tfi-${randomBytes(3).toString('hex')}`;
  const functionArn = `arn:aws:lambda:us-east-1:000000000000:function:${name}-upload`;
  const events: APIGatewayProxyEventV2WithJWTAuthorizer[] = [];
  let cloud: TestCloud;
  let upload: LocalFunction | undefined;
  let issuer: Awaited<ReturnType<typeof startIssuer>>;
  let work: string;
  let endpoint: string;

  beforeAll(async () => {
    issuer = await startIssuer();
    cloud = await startTestCloud({
      // The one function this cloud runs, under the ARN the integration names; what it is sent is kept.
      functionInvoker: (arn) =>
        arn === functionArn && upload
          ? (event) => {
              events.push(event as APIGatewayProxyEventV2WithJWTAuthorizer);
              return upload!.invoke(event);
            }
          : undefined,
    });
    upload = await startUploadFunction(cloud, 1_000_000);
    work = mkdtempSync(join(tmpdir(), 'irc-http-api-'));
    cpSync(FIXTURE, join(work, 'main.tf'));
    writeFileSync(join(work, TF_OVERRIDE_FILE), terraformOverride(cloud.gateway.endpoint));
    const cliConfig = writeCliConfig(work, terraform.mirror!);
    const tf = async (args: string[]): Promise<string> => {
      const run = await runTerraformAsync(terraform.bin!, cliConfig, work, [...args, '-no-color']);
      if (run.code !== 0)
        throw new Error(`terraform ${args[0]} exited ${run.code}:\n${run.stderr}\n${run.stdout.slice(-6000)}`);
      return run.stdout;
    };
    await tf(['init', '-input=false']);
    const vars = ['-var', `name=${name}`, '-var', `function_arn=${functionArn}`, '-var', `jwt_issuer=${issuer.url}`];
    // The API and what hangs off it; the streams (and their waits) are the other test's.
    const targets = [
      'aws_apigatewayv2_route.uploads',
      'aws_apigatewayv2_route.anonymous',
      'aws_apigatewayv2_route.signed',
      'aws_apigatewayv2_stage.default',
    ];
    const applied = await tf([
      'apply',
      '-auto-approve',
      '-input=false',
      ...vars,
      ...targets.map((t) => `-target=${t}`),
    ]);
    expect(/Apply complete! Resources: (\d+) added/.exec(applied)?.[1]).toBe('8');
    endpoint = (JSON.parse(await tf(['output', '-json'])) as { api_endpoint: { value: string } }).api_endpoint.value;
  }, 600_000);

  afterAll(async () => {
    await upload?.stop();
    await cloud?.stop();
    await issuer?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const askForm = (path: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ filename: 'cat.png', contentType: 'image/png', size: 1000 }),
    });

  test('the anonymous route reaches the upload function with the payload 2.0 event and returns its presigned POST', async () => {
    const res = await askForm('/anonymous/uploads?source=test');
    const body = (await res.json()) as { url: string; key: string; fields: Record<string, string> };
    expect({ status: res.status, key: body.key }).toEqual({
      status: 201,
      key: expect.stringMatching(/^uploads\/[0-9a-f-]{36}\/cat\.png$/),
    });
    expect(body.fields).toMatchObject({ key: body.key, 'Content-Type': 'image/png' });
    const event = events[events.length - 1];
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /anonymous/uploads',
      rawPath: '/anonymous/uploads',
      rawQueryString: 'source=test',
      requestContext: { apiId: endpoint.split('/').pop(), stage: '$default', http: { method: 'POST' } },
    });
  }, 60_000);

  test('the JWT route: 401 without a token or with one for another audience, the function with a valid one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: issuer.url, sub: 'user-1', aud: 'upload-page', iat: now, exp: now + 300 };
    const calls = events.length;
    const missing = await askForm('/uploads');
    expect({ status: missing.status, body: await missing.json() }).toEqual({
      status: 401,
      body: { message: 'Unauthorized' },
    });
    const foreign = await askForm('/uploads', {
      authorization: `Bearer ${issuer.token({ ...claims, aud: 'another-app' })}`,
    });
    expect({ status: foreign.status, body: await foreign.json() }).toEqual({
      status: 401,
      body: { message: 'Unauthorized' },
    });
    const expired = await askForm('/uploads', {
      authorization: `Bearer ${issuer.token({ ...claims, exp: now - 60 })}`,
    });
    expect(expired.status).toBe(401);
    expect(events.length).toBe(calls);

    const valid = await askForm('/uploads', { authorization: `Bearer ${issuer.token(claims)}` });
    expect(valid.status).toBe(201);
    expect(events[events.length - 1].requestContext.authorizer.jwt.claims).toMatchObject({ sub: 'user-1' });
  }, 60_000);

  test('the AWS_IAM route: 403 {"message":"Forbidden"} unsigned, the function when signed for execute-api', async () => {
    const unsigned = await askForm('/signed/uploads');
    expect({ status: unsigned.status, body: await unsigned.json() }).toEqual({
      status: 403,
      body: { message: 'Forbidden' },
    });
    const url = new URL(`${endpoint}/signed/uploads`);
    const body = JSON.stringify({ filename: 'cat.png', contentType: 'image/png', size: 1000 });
    const signer = new SignatureV4({
      service: 'execute-api',
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      sha256: NodeSha256,
    });
    const signed = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/json' },
      body,
    });
    const res = await fetch(url, { method: 'POST', headers: signed.headers, body });
    expect(res.status).toBe(201);
    expect(events[events.length - 1].routeKey).toBe('POST /signed/uploads');
  }, 60_000);

  test('a path no route takes is 404 {"message":"Not Found"}, as is an API that does not exist', async () => {
    const off = await askForm('/elsewhere');
    expect({ status: off.status, body: await off.json() }).toEqual({ status: 404, body: { message: 'Not Found' } });
    const noApi = await fetch(`${cloud.gateway.endpoint}/_api/zzzzzzzzzz/uploads`, { method: 'POST' });
    expect({ status: noApi.status, body: await noApi.json() }).toEqual({ status: 404, body: { message: 'Not Found' } });
  }, 60_000);
});
