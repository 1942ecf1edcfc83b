// The pure parts of the local Lambda functions: how an image starts (ENTRYPOINT/CMD with ImageConfig),
// the configuration's validation and shape, function names, and the store's rules with an in-memory resolver.
import {
  applyConfigurationInput,
  functionConfiguration,
  imageStartCommand,
  lambdaCpuShare,
  sandboxCpuArgs,
  parseFunctionRef,
  qualifierOf,
  type FunctionVersionConfig,
  type LambdaImage,
} from '../../src/local/cloud/lambda/function-config';
import { FunctionStore, resolvedImageUri } from '../../src/local/cloud/lambda/function-store';
import { createLambdaFunctions, trustPolicyOf } from '../../src/local/cloud/lambda/lambda-functions';
import { AppliedFunctions } from '../../src/local/cloud/lambda/applied-functions';
import type { ContainerFunctionOptions } from '../../src/local/cloud/lambda/container-host';
import type { LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { waitFor } from '../helpers/wait';

const SCOPE = { region: 'us-east-1', accountId: '000000000000' };
const IMAGE: LambdaImage = {
  imageUri: 'repo/fn:latest',
  digest: 'sha256:abc',
  entrypoint: ['/var/runtime/entrypoint.sh'],
  cmd: ['publish.handler'],
  workingDir: '/var/task',
  env: ['PATH=/usr/bin'],
  runRef: 'sha256:abc',
};
const trust = (service: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
const ROLE = 'arn:aws:iam::000000000000:role/fn';

describe('imageStartCommand: how Lambda starts an image', () => {
  test("the image's ENTRYPOINT and CMD when the function sets no ImageConfig", () => {
    expect(imageStartCommand(IMAGE)).toEqual({
      argv: ['/var/runtime/entrypoint.sh', 'publish.handler'],
      workingDir: '/var/task',
    });
  });
  test('ImageConfig.Command replaces CMD only; the ENTRYPOINT stays', () => {
    expect(imageStartCommand(IMAGE, { Command: ['resize.handler'] }).argv).toEqual([
      '/var/runtime/entrypoint.sh',
      'resize.handler',
    ]);
  });
  test('ImageConfig.EntryPoint replaces ENTRYPOINT only; the CMD stays', () => {
    expect(imageStartCommand(IMAGE, { EntryPoint: ['/bin/sh', '-c'] }).argv).toEqual([
      '/bin/sh',
      '-c',
      'publish.handler',
    ]);
  });
  test('ImageConfig.WorkingDirectory replaces WORKDIR', () => {
    expect(imageStartCommand(IMAGE, { WorkingDirectory: '/tmp' }).workingDir).toBe('/tmp');
  });
  test('an image without CMD and a function without Command: the entrypoint alone, without argument', () => {
    expect(imageStartCommand({ ...IMAGE, cmd: undefined }).argv).toEqual(['/var/runtime/entrypoint.sh']);
  });
  test('nothing to start: an empty argv', () => {
    expect(imageStartCommand({}).argv).toEqual([]);
  });
});

describe('lambdaCpuShare: the CPU Lambda gives a memory size', () => {
  test.each([
    [1769, 8, 1],
    [128, 8, 0.07],
    [10240, 8, 5.79],
    [10240, 2, 2],
  ])('%i MB on %i CPUs: %d', (memory, cpus, share) => {
    expect(lambdaCpuShare(memory, cpus)).toBe(share);
  });
});

describe("sandboxCpuArgs: Lambda's share natively, no cap under emulation", () => {
  test.each([
    [2048, ['x86_64'], 'x64', ['--cpus', '1.16']],
    [256, ['arm64'], 'arm64', ['--cpus', '0.14']],
    [256, [], 'x64', ['--cpus', '0.14']],
    [256, ['arm64'], 'x64', []],
    [2048, ['x86_64'], 'arm64', []],
  ])('%i MB, %j on %s: %j', (memory, architectures, arch, args) => {
    expect(sandboxCpuArgs(memory, architectures, { cpus: 8, arch })).toEqual(args);
  });
});

describe('function names', () => {
  test.each([
    ['fn', { name: 'fn' }],
    ['fn:live', { name: 'fn', qualifier: 'live' }],
    ['000000000000:function:fn', { name: 'fn' }],
    ['arn:aws:lambda:us-east-1:000000000000:function:fn', { name: 'fn' }],
    ['arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST', { name: 'fn', qualifier: '$LATEST' }],
  ])('%s', (value, ref) => {
    expect(parseFunctionRef(value, SCOPE)).toEqual(ref);
  });
  test('a name Lambda refuses: ValidationException', () => {
    expect(() => parseFunctionRef('fn/x', SCOPE)).toThrow(expect.objectContaining({ code: 'ValidationException' }));
  });
  test('a qualifier in the name and another in the parameter: refused as Lambda does', () => {
    expect(() => qualifierOf({ name: 'fn', qualifier: '1' }, '2')).toThrow(
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  });
});

describe('configuration input', () => {
  test("Lambda's defaults: 128 MB, 3 s, x86_64, 512 MB /tmp, PassThrough, Text logs to /aws/lambda/<name>", () => {
    expect(applyConfigurationInput({ Role: ROLE }, 'fn')).toMatchObject({
      memorySize: 128,
      timeout: 3,
      architectures: ['x86_64'],
      ephemeralStorageMb: 512,
      tracingMode: 'PassThrough',
      loggingConfig: { LogFormat: 'Text', LogGroup: '/aws/lambda/fn' },
    });
  });
  test('JSON logs default both levels to INFO, as Lambda answers', () => {
    expect(applyConfigurationInput({ Role: ROLE, LoggingConfig: { LogFormat: 'JSON' } }, 'fn').loggingConfig).toEqual({
      LogFormat: 'JSON',
      LogGroup: '/aws/lambda/fn',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'INFO',
    });
  });
  test("a reserved variable is refused with Lambda's message", () => {
    expect(() =>
      applyConfigurationInput({ Role: ROLE, Environment: { Variables: { AWS_REGION: 'x', OK: 'y' } } }, 'fn'),
    ).toThrow(
      expect.objectContaining({
        code: 'InvalidParameterValueException',
        message: expect.stringContaining('Reserved keys used in this request: AWS_REGION') as string,
      }),
    );
  });
  test('memory outside 128-10240: ValidationException naming the value', () => {
    expect(() => applyConfigurationInput({ Role: ROLE, MemorySize: 64 }, 'fn')).toThrow(
      "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: " +
        'Member must have value greater than or equal to 128',
    );
  });
  test('Handler or Runtime on an image function is refused', () => {
    expect(() => applyConfigurationInput({ Role: ROLE, Handler: 'x.handler' }, 'fn')).toThrow(
      expect.objectContaining({ code: 'InvalidParameterValueException' }),
    );
  });
  test('an update keeps what it does not name', () => {
    const before = applyConfigurationInput({ Role: ROLE, MemorySize: 512, Timeout: 20 }, 'fn');
    expect(applyConfigurationInput({ Timeout: 30 }, 'fn', before)).toMatchObject({ memorySize: 512, timeout: 30 });
  });
});

describe('FunctionConfiguration document', () => {
  const config: FunctionVersionConfig = {
    ...applyConfigurationInput({ Role: ROLE, ImageConfig: { Command: ['publish.handler'] } }, 'fn'),
    version: '$LATEST',
    image: IMAGE,
    lastModified: new Date('2026-01-02T03:04:05.678Z'),
    revisionId: 'r1',
  };
  test("what the provider's waiters read: Active and Successful; Lambda's timestamp; the digest as CodeSha256", () => {
    expect(functionConfiguration(config, SCOPE)).toMatchObject({
      FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Image',
      LastModified: '2026-01-02T03:04:05.678+0000',
      CodeSha256: 'abc',
      ImageConfigResponse: { ImageConfig: { Command: ['publish.handler'] } },
    });
  });
  test('a published version carries its number in the ARN', () => {
    expect(functionConfiguration({ ...config, version: '3' }, SCOPE).FunctionArn).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:fn:3',
    );
  });
  test('the resolved image URI: the repository at the digest', () => {
    expect(resolvedImageUri('127.0.0.1:5000/repo/fn:v1', 'sha256:abc')).toBe('127.0.0.1:5000/repo/fn@sha256:abc');
  });
});

describe('FunctionStore', () => {
  const roles = new Map<string, string>([
    [ROLE, trust('lambda.amazonaws.com')],
    ['arn:aws:iam::000000000000:role/ec2', trust('ec2.amazonaws.com')],
  ]);
  const newStore = (): FunctionStore =>
    new FunctionStore({
      scope: SCOPE,
      resolveImage: (uri) => Promise.resolve({ ...IMAGE, imageUri: uri }),
      roleTrustPolicy: (arn) => roles.get(arn),
    });
  const create = (store: FunctionStore, extra: Record<string, unknown> = {}) =>
    store.createFunction({
      FunctionName: 'fn',
      PackageType: 'Image',
      Code: { ImageUri: 'repo/fn:latest' },
      Role: ROLE,
      ...extra,
    });

  test.each([
    ['a role IAM does not hold', 'arn:aws:iam::000000000000:role/missing'],
    ['a role that trusts another service', 'arn:aws:iam::000000000000:role/ec2'],
  ])("%s: CreateFunction refused with Lambda's message", async (_what, role) => {
    await expect(create(newStore(), { Role: role })).rejects.toMatchObject({
      code: 'InvalidParameterValueException',
      message: 'The role defined for the function cannot be assumed by Lambda.',
    });
  });

  test('a second function of the same name: ResourceConflictException', async () => {
    const store = newStore();
    await create(store);
    await expect(create(store)).rejects.toMatchObject({ code: 'ResourceConflictException', status: 409 });
  });

  test("an unknown function: ResourceNotFoundException with Lambda's message", () => {
    expect(() => newStore().getFunction('nope')).toThrow(
      'Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope',
    );
  });

  test('an alias created without weights shows no RoutingConfig', async () => {
    const store = newStore();
    await create(store, { Publish: true });
    expect(
      store.createAlias('fn', { Name: 'live', FunctionVersion: '1', RoutingConfig: { AdditionalVersionWeights: {} } }),
    ).not.toHaveProperty('RoutingConfig');
  });

  test('AddPermission writes the statement the provider reads back; a repeated Sid conflicts', async () => {
    const store = newStore();
    await create(store);
    store.addPermission('fn', null, {
      StatementId: 's3',
      Action: 'lambda:InvokeFunction',
      Principal: 's3.amazonaws.com',
      SourceArn: 'arn:aws:s3:::b',
      SourceAccount: '000000000000',
    });
    expect(JSON.parse(store.getPolicy('fn', null).Policy as string)).toEqual({
      Version: '2012-10-17',
      Id: 'default',
      Statement: [
        {
          Sid: 's3',
          Effect: 'Allow',
          Principal: { Service: 's3.amazonaws.com' },
          Action: 'lambda:InvokeFunction',
          Resource: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
          Condition: {
            StringEquals: { 'AWS:SourceAccount': '000000000000' },
            ArnLike: { 'AWS:SourceArn': 'arn:aws:s3:::b' },
          },
        },
      ],
    });
    expect(() =>
      store.addPermission('fn', null, { StatementId: 's3', Action: 'lambda:InvokeFunction', Principal: '*' }),
    ).toThrow(expect.objectContaining({ code: 'ResourceConflictException' }));
    store.removePermission('fn', null, 's3');
    expect(() => store.getPolicy('fn', null)).toThrow(expect.objectContaining({ code: 'ResourceNotFoundException' }));
  });

  test('provisioned concurrency on $LATEST is refused; on a version it is READY', async () => {
    const store = newStore();
    await create(store, { Publish: true });
    expect(() => store.putProvisionedConcurrency('fn', '$LATEST', { ProvisionedConcurrentExecutions: 1 })).toThrow(
      'Provisioned Concurrency Configs cannot be applied to unpublished function versions.',
    );
    expect(store.putProvisionedConcurrency('fn', '1', { ProvisionedConcurrentExecutions: 1 })).toMatchObject({
      Status: 'READY',
    });
  });

  test('a mapping on an alias keeps the qualified ARN (as Lambda answers FunctionArn); an unknown alias is not found', async () => {
    const store = newStore();
    await create(store, { Timeout: 30 });
    store.publishVersion('fn', {});
    store.createAlias('fn', { Name: 'live', FunctionVersion: '1' });
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:fn';
    expect(store.mappedConfiguration(`${arn}:live`)).toEqual({
      functionArn: `${arn}:live`,
      timeoutSeconds: 30,
      role: ROLE,
    });
    expect(store.mappedConfiguration('fn')).toMatchObject({ functionArn: arn });
    expect(store.mappedConfiguration('fn:nope')).toBeUndefined();
  });

  test('PublishVersion without a change since the last version returns that version', async () => {
    const store = newStore();
    await create(store, { Publish: true });
    expect(store.publishVersion('fn', {}).Version).toBe('1');
    store.updateConfiguration('fn', { Timeout: 9 });
    expect(store.publishVersion('fn', {}).Version).toBe('2');
  });

  test('listeners hear of every change of what runs, and of the deletion', async () => {
    const store = newStore();
    const heard: string[] = [];
    store.onChange((name, change) => heard.push(`${name}:${change}`));
    await create(store);
    store.updateConfiguration('fn', { MemorySize: 256 });
    await store.updateCode('fn', { ImageUri: 'repo/fn:v2' });
    store.putConcurrency('fn', { ReservedConcurrentExecutions: 1 });
    store.deleteFunction('fn');
    expect(heard).toEqual(['fn:configuration', 'fn:code', 'fn:concurrency', 'fn:deleted']);
  });
});

describe('trustPolicyOf', () => {
  const iam = {
    role(name: string) {
      if (name !== 'fn') throw new Error('NoSuchEntity');
      return { arn: ROLE, assumeRolePolicyDocument: trust('lambda.amazonaws.com') };
    },
  };
  test("the role's trust policy by ARN; none for an unknown role or an ARN of another path", () => {
    expect(trustPolicyOf(iam, ROLE)).toBe(trust('lambda.amazonaws.com'));
    expect(trustPolicyOf(iam, 'arn:aws:iam::000000000000:role/other')).toBeUndefined();
    expect(trustPolicyOf(iam, 'arn:aws:iam::000000000000:role/x/fn')).toBeUndefined();
  });
});

describe('AppliedFunctions: sandboxes per applied configuration', () => {
  /** A store with one function, and a starter that records what it was asked to start. */
  async function setup(image: LambdaImage = IMAGE) {
    const store = new FunctionStore({
      scope: SCOPE,
      resolveImage: (uri) => Promise.resolve({ ...image, imageUri: uri }),
      roleTrustPolicy: () => trust('lambda.amazonaws.com'),
    });
    await store.createFunction({
      FunctionName: 'fn',
      PackageType: 'Image',
      Code: { ImageUri: 'repo/fn:latest' },
      Role: ROLE,
      MemorySize: 1769,
      Environment: { Variables: { OUTPUT_BUCKET: 'out' } },
      ImageConfig: { Command: ['resize.handler'] },
    });
    const started: Array<{ opts: ContainerFunctionOptions; stopped: boolean }> = [];
    const functions = new AppliedFunctions({
      store,
      localEnv: () => ({ AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }),
      start: (opts) => {
        const entry = { opts, stopped: false };
        started.push(entry);
        const host: Partial<LocalFunction> = {
          invoke: (event) => Promise.resolve({ ok: true, requestId: 'r', payload: event, durationMs: 1 }),
          stop: () => {
            entry.stopped = true;
            return Promise.resolve();
          },
        };
        return Promise.resolve(host as LocalFunction);
      },
    });
    return { store, functions, started };
  }

  test('the first invoke starts the image as Lambda would; the next reuses it', async () => {
    const { functions, started } = await setup();
    await expect(functions.invoke('fn', { a: 1 })).resolves.toMatchObject({ ok: true, payload: { a: 1 } });
    await functions.invoke('arn:aws:lambda:us-east-1:000000000000:function:fn', {});
    expect(started).toHaveLength(1);
    expect(started[0].opts).toMatchObject({
      name: 'fn',
      image: 'sha256:abc',
      entrypoint: '/var/runtime/entrypoint.sh',
      command: ['resize.handler'],
      workingDir: '/var/task',
      memoryMb: 1769,
      timeoutSeconds: 3,
      ephemeralStorageMb: 512,
      runArgs: ['--cpus', expect.any(String) as string],
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:1', OUTPUT_BUCKET: 'out' },
    });
  });

  test('a configuration change retires the sandboxes; the next invoke starts the new configuration', async () => {
    const { store, functions, started } = await setup();
    await functions.invoke('fn', {});
    store.updateConfiguration('fn', { MemorySize: 512 });
    await functions.invoke('fn', {});
    expect(started.map((s) => [s.opts.memoryMb, s.stopped])).toEqual([
      [1769, true],
      [512, false],
    ]);
  });

  test('DeleteFunction and stop() end the sandboxes; a deleted function is not found', async () => {
    const { store, functions, started } = await setup();
    await functions.invoke('fn', {});
    store.deleteFunction('fn');
    await functions.stop();
    expect(started.map((s) => s.stopped)).toEqual([true]);
    await expect(functions.invoke('fn', {})).rejects.toThrow();
  });

  test('reserved concurrency 0 throttles as Lambda does; a lower reservation caps the sandboxes', async () => {
    const { store, functions, started } = await setup();
    store.putConcurrency('fn', { ReservedConcurrentExecutions: 0 });
    await expect(functions.invoke('fn', {})).rejects.toMatchObject({
      code: 'TooManyRequestsException',
      status: 429,
      extra: { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
    });
    store.putConcurrency('fn', { ReservedConcurrentExecutions: 1 });
    await functions.invoke('fn', {});
    expect(started[0].opts.concurrency).toBe(1);
  });

  test('provisioned concurrency on an alias starts its sandboxes before any invoke; the invokes use them', async () => {
    const { store, functions, started } = await setup();
    store.publishVersion('fn', {});
    store.createAlias('fn', { Name: 'live', FunctionVersion: '1' });
    store.putProvisionedConcurrency('fn', 'live', { ProvisionedConcurrentExecutions: 2 });
    await waitFor('the provisioned sandboxes', () => started.length === 1 || undefined, 5000, 10);
    expect(started[0].opts).toMatchObject({ name: 'fn', concurrency: 2 });
    await functions.invoke('fn', {}, 'live');
    await functions.invoke('arn:aws:lambda:us-east-1:000000000000:function:fn:1', {});
    expect(started.map((s) => s.stopped)).toEqual([false]);
  });

  test('an image with neither ENTRYPOINT nor CMD and no ImageConfig: Runtime.InvalidEntrypoint, nothing started', async () => {
    const { store, functions, started } = await setup({ ...IMAGE, entrypoint: undefined, cmd: undefined });
    store.updateConfiguration('fn', { ImageConfig: {} });
    await expect(functions.invoke('fn', {})).resolves.toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.InvalidEntrypoint' },
    });
    expect(started).toHaveLength(0);
  });

  test(
    'an arm64 function on an amd64 image: created (Lambda does not look), its invoke fails with ' +
      'Runtime.InvalidEntrypoint "exec format error", nothing started; x86_64 runs it',
    async () => {
      const { store, functions, started } = await setup({ ...IMAGE, architecture: 'amd64' });
      store.updateConfiguration('fn', { Architectures: ['arm64'] });
      const failed = await functions.invoke('fn', {});
      expect(failed).toMatchObject({
        ok: false,
        error: {
          errorType: 'Runtime.InvalidEntrypoint',
          errorMessage: expect.stringMatching(
            /^RequestId: [0-9a-f-]{36} Error: fork\/exec \/var\/runtime\/entrypoint\.sh: exec format error$/,
          ) as unknown,
        },
      });
      expect(started).toHaveLength(0);
      store.updateConfiguration('fn', { Architectures: ['x86_64'] });
      await expect(functions.invoke('fn', { a: 1 })).resolves.toMatchObject({ ok: true });
      expect(started).toHaveLength(1);
    },
  );

  test('an x86_64 function on an arm64 image fails the same way; an image naming no architecture runs', async () => {
    const arm = await setup({ ...IMAGE, architecture: 'arm64' });
    await expect(arm.functions.invoke('fn', {})).resolves.toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.InvalidEntrypoint' },
    });
    const unnamed = await setup(IMAGE);
    await expect(unnamed.functions.invoke('fn', {})).resolves.toMatchObject({ ok: true });
  });
});

describe('createLambdaFunctions: existingInvoker (API Gateway AWS_PROXY integrations)', () => {
  test('an invoker for a function that exists (by ARN), none for one that does not', async () => {
    const lambda = createLambdaFunctions({
      iam: { role: () => ({ arn: ROLE, assumeRolePolicyDocument: trust('lambda.amazonaws.com') }) },
      localEnv: () => ({}),
      resolveImage: (uri) => Promise.resolve({ ...IMAGE, imageUri: uri }),
    });
    await lambda.store.createFunction({
      FunctionName: 'fn',
      PackageType: 'Image',
      Code: { ImageUri: 'r:1' },
      Role: ROLE,
    });
    expect(lambda.existingInvoker('arn:aws:lambda:us-east-1:000000000000:function:fn')).toBeInstanceOf(Function);
    expect(lambda.existingInvoker('arn:aws:lambda:us-east-1:000000000000:function:other')).toBeUndefined();
    expect(lambda.existingInvoker('not a function')).toBeUndefined();
    await lambda.stop();
  });
});
