/**
 * Lambda's event source mappings API (mapping-registry.ts behind lambda-api.ts) driven by the AWS CLI
 * against the gateway: the real stand-in SQS, the local IAM (roles put through the store the IAM API
 * serves), a Kinesis stream, and a real function (the echo fixture under aws-lambda-ric). The
 * functions seam (MappedFunctions) is implemented here over that one function, recording the events
 * it is invoked with, so the test sees the applied settings at work: batch sizes, filters, disabling,
 * an update, deletion. Refusals are Lambda's: visibility timeout below the function timeout, a role
 * without the poller's permissions, a queue, stream or function that does not exist.
 *
 * Needs the AWS CLI: skipped loudly without it, failing under CI=true.
 */
import { join } from 'node:path';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startStandIn, type StandIn } from '../../src/local/cloud/standin/standin';
import { startGateway, type Gateway } from '../../src/local/cloud/gateway/gateway';
import { localClientConfig } from '../../src/local/client-config';
import { startLocalFunction, type LocalFunction } from '../../src/local/cloud/lambda/function-host';
import { IamStore } from '../../src/local/cloud/iam/iam-store';
import { LocalStream } from '../../src/local/cloud/kinesis/stream';
import { MappingRegistry, type MappedFunctions } from '../../src/local/cloud/lambda/mapping-registry';
import { lambdaMappingsRoutes } from '../../src/local/cloud/lambda/lambda-api';
import type { SqsEventRecord } from '../../src/local/cloud/lambda/event-source-mapping';
import { describeWhen } from '../helpers/requires';
import { AWS_CLI_MISSING, BOTO3_MISSING, findAwsCli, findBoto3Python, runAws, runClient } from '../helpers/up-process';
import { waitFor } from '../helpers/wait';
import { renewingSession } from '../../src/local/cloud/iam/session-credentials';
import { EVENT_SOURCE_MAPPING_SESSION } from '../../src/local/cloud/lambda/mapping-role-check';

const FIXTURES = join(__dirname, '..', 'fixtures', 'handlers');
const ACCOUNT = '000000000000';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:echo`;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
/** A Kinesis record whose data is `{"fail":true}`. */
const toldToFail = (record: Record<string, unknown>): boolean =>
  Buffer.from((record.kinesis as { data?: string } | undefined)?.data ?? '', 'base64').toString() === '{"fail":true}';
const cli = findAwsCli();
const boto3 = findBoto3Python();

describeWhen(
  [cli ? undefined : AWS_CLI_MISSING, boto3 ? undefined : BOTO3_MISSING].filter(Boolean).join('; ') || undefined,
  'event source mappings API (AWS CLI against the gateway)',
  () => {
    let standIn: StandIn;
    let gateway: Gateway;
    let sqs: SQSClient;
    let echo: LocalFunction;
    let registry: MappingRegistry;
    const iam = new IamStore(ACCOUNT);
    const stream = new LocalStream({ name: 'esm-stream', shardCount: 1 });
    /** The role the function runs with; the tests give it policies. */
    let roleArn = '';
    /** The gateway's log lines (iam.denied…). */
    const cloudLines: Array<Record<string, unknown>> = [];
    const pollerClients: SQSClient[] = [];
    /** The mappings' log lines (stream.read_denied…). */
    const mappingLines: Array<Record<string, unknown>> = [];
    /** Each invocation's records, in order. */
    const invoked: Array<Array<Record<string, unknown>>> = [];

    const functions: MappedFunctions = {
      configuration: (nameOrArn) =>
        nameOrArn === 'echo' || nameOrArn === FUNCTION_ARN
          ? { functionArn: FUNCTION_ARN, timeoutSeconds: 10, role: roleArn }
          : undefined,
      invoker: () => async (event) => {
        const records = (event as { Records: Array<Record<string, unknown>> }).Records;
        invoked.push(records);
        // A stream record whose data says {"fail":true} fails its batch, as a function error would.
        if (records.some(toldToFail))
          return {
            ok: false,
            requestId: 'told-to-fail',
            kind: 'handled',
            error: { errorType: 'Error', errorMessage: 'told to fail' },
            durationMs: 0,
          };
        return echo.invoke(event);
      },
    };

    const aws = async (args: string[]): Promise<Record<string, unknown>> =>
      JSON.parse(await runAws(cli!.path, gateway.endpoint, [...args, '--output', 'json'], 60_000)) as Record<
        string,
        unknown
      >;
    /** The CLI's error output of a command that must fail. */
    const refusal = async (args: string[]): Promise<string> => {
      try {
        await runAws(cli!.path, gateway.endpoint, args, 60_000);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error(`aws ${args.join(' ')} succeeded`);
    };
    const queue = async (name: string, visibility: number): Promise<{ url: string; arn: string }> => {
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: String(visibility) } }),
      );
      return { url: QueueUrl!, arn: `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}` };
    };
    const depth = async (url: string): Promise<number> => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return (
        Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
        Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
      );
    };
    const send = (url: string, bodies: string[]) =>
      sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: bodies.map((b, i) => ({ Id: `m${i}`, MessageBody: b })),
        }),
      );
    const bodiesOf = (records: Array<Record<string, unknown>>): string[] =>
      records.map((r) => (r as unknown as SqsEventRecord).body);
    const grant = (actions: string[]) =>
      iam.putRolePolicy(
        'echo-role',
        'poller',
        JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }),
      );

    /** The permissions the poller needs on queues and streams. */
    const POLLER_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'kinesis:*'];
    const grantPoller = () => grant(POLLER_ACTIONS);
    /** `aws lambda create-event-source-mapping` of the stream into echo, from `position`, with `extra` options. */
    const streamMapping = (extra: string[] = [], position: 'LATEST' | 'TRIM_HORIZON' = 'LATEST'): string[] => [
      'lambda',
      'create-event-source-mapping',
      '--function-name',
      'echo',
      '--event-source-arn',
      stream.arn,
      '--starting-position',
      position,
      ...extra,
    ];

    beforeAll(async () => {
      standIn = await startStandIn();
      gateway = await startGateway({ upstream: standIn.endpoint, iam, logSink: (line) => cloudLines.push(line) });
      sqs = new SQSClient(localClientConfig(gateway.endpoint));
      echo = await startLocalFunction({
        name: 'echo',
        handler: 'echo.handler',
        taskRoot: FIXTURES,
        timeoutSeconds: 10,
        logSink: () => undefined,
      });
      // Lambda's pollers act as the function's role: their calls are signed with its session.
      registry = new MappingRegistry({
        sqs,
        iam,
        functions,
        streams: () => [stream],
        authorizeStreamReads: true,
        logSink: (line) => mappingLines.push(line),
        pollerSqs: (role) => {
          const credentials = renewingSession(() =>
            gateway.sessionCredentialsForRole(role, EVENT_SOURCE_MAPPING_SESSION),
          );
          const client = new SQSClient({ ...localClientConfig(gateway.endpoint), credentials });
          pollerClients.push(client);
          return client;
        },
      });
      gateway.addRoutes(lambdaMappingsRoutes(registry));
      roleArn = iam.createRole({ name: 'echo-role', assumeRolePolicyDocument: TRUST }).arn;
    }, 120_000);

    afterAll(async () => {
      await registry?.stopAll();
      await echo?.stop();
      sqs?.destroy();
      pollerClients.forEach((client) => client.destroy());
      await gateway?.stop();
      await standIn?.stop();
    });

    test('refuses a function that does not exist (ResourceNotFoundException)', async () => {
      const q = await queue('esm-nofn', 60);
      const message = await refusal([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        'nope',
        '--event-source-arn',
        q.arn,
      ]);
      expect(message).toContain('(ResourceNotFoundException)');
      expect(message).toContain(`Function not found: arn:aws:lambda:us-east-1:${ACCOUNT}:function:nope`);
    }, 60_000);

    test("refuses a queue that does not exist, with Lambda's message", async () => {
      const message = await refusal([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        'echo',
        '--event-source-arn',
        `arn:aws:sqs:us-east-1:${ACCOUNT}:esm-missing`,
      ]);
      expect(message).toContain('(InvalidParameterValueException)');
      expect(message).toContain(
        'Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. ' +
          'SQS Error Message: The specified queue does not exist or you do not have access to it.',
      );
    }, 60_000);

    test('refuses a role that may not receive from the queue, naming the first missing action', async () => {
      const q = await queue('esm-norole', 60);
      const args = ['lambda', 'create-event-source-mapping', '--function-name', 'echo', '--event-source-arn', q.arn];
      expect(await refusal(args)).toContain(
        'The provided execution role does not have permissions to call ReceiveMessage on SQS',
      );
      grant(['sqs:ReceiveMessage']);
      expect(await refusal(args)).toContain(
        'The provided execution role does not have permissions to call DeleteMessage on SQS',
      );
      iam.deleteRolePolicy('echo-role', 'poller');
    }, 60_000);

    test("refuses a queue whose visibility timeout is below the function timeout, with Lambda's message", async () => {
      grantPoller();
      const q = await queue('esm-short', 5);
      const message = await refusal([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        'echo',
        '--event-source-arn',
        q.arn,
      ]);
      expect(message).toContain('(InvalidParameterValueException)');
      expect(message).toContain('Queue visibility timeout: 5 seconds is less than Function timeout: 10 seconds');
      expect(
        (await aws(['lambda', 'list-event-source-mappings', '--event-source-arn', q.arn])).EventSourceMappings,
      ).toEqual([]);
    }, 60_000);

    test('a created SQS mapping runs with its settings; update, disable, enable and delete take effect', async () => {
      grantPoller();
      const q = await queue('esm-main', 60);
      const created = await aws([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        'echo',
        '--event-source-arn',
        q.arn,
        '--batch-size',
        '3',
        '--maximum-batching-window-in-seconds',
        '1',
        '--scaling-config',
        'MaximumConcurrency=2',
        '--function-response-types',
        'ReportBatchItemFailures',
      ]);
      const uuid = created.UUID as string;
      expect(created).toMatchObject({
        State: 'Creating',
        EventSourceArn: q.arn,
        FunctionArn: FUNCTION_ARN,
        BatchSize: 3,
        MaximumBatchingWindowInSeconds: 1,
        ScalingConfig: { MaximumConcurrency: 2 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
      expect(await aws(['lambda', 'get-event-source-mapping', '--uuid', uuid])).toMatchObject({ State: 'Enabled' });
      // This CLI's model predates EventSourceMappingArn (the SDKs and the provider read it): built from the UUID.
      const mappingArn = `arn:aws:lambda:us-east-1:${ACCOUNT}:event-source-mapping:${uuid}`;
      await runAws(cli!.path, gateway.endpoint, [
        'lambda',
        'tag-resource',
        '--resource',
        mappingArn,
        '--tags',
        'team=images',
      ]);
      expect(await aws(['lambda', 'list-tags', '--resource', mappingArn])).toEqual({
        Tags: { team: 'images' },
      });
      const listed = await aws(['lambda', 'list-event-source-mappings', '--function-name', 'echo']);
      expect((listed.EventSourceMappings as Array<{ UUID: string }>).map((m) => m.UUID)).toContain(uuid);

      invoked.length = 0;
      await send(q.url, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      await waitFor('the 7 messages invoked', () => invoked.flat().length >= 7 && depth(q.url).then((n) => n === 0));
      expect(invoked.every((batch) => batch.length <= 3)).toBe(true);
      expect(invoked.flatMap(bodiesOf).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);

      const updated = await aws(['lambda', 'update-event-source-mapping', '--uuid', uuid, '--batch-size', '1']);
      expect(updated).toMatchObject({ BatchSize: 1, State: 'Enabled' });
      invoked.length = 0;
      await send(q.url, ['h', 'i', 'j']);
      await waitFor(
        'the 3 messages invoked one by one',
        () => invoked.flat().length >= 3 && depth(q.url).then((n) => n === 0),
      );
      expect(invoked.map((batch) => batch.length)).toEqual([1, 1, 1]);

      expect(await aws(['lambda', 'update-event-source-mapping', '--uuid', uuid, '--no-enabled'])).toMatchObject({
        State: 'Disabled',
      });
      expect(registry.running(uuid)?.state()).toBe('Disabled');
      invoked.length = 0;
      await send(q.url, ['k']);
      expect(await depth(q.url)).toBe(1);
      expect(await aws(['lambda', 'update-event-source-mapping', '--uuid', uuid, '--enabled'])).toMatchObject({
        State: 'Enabled',
      });
      await waitFor('the message sent while disabled invoked once enabled', () => invoked.flat().length === 1);
      expect(invoked.flatMap(bodiesOf)).toEqual(['k']);

      expect(await aws(['lambda', 'delete-event-source-mapping', '--uuid', uuid])).toMatchObject({ State: 'Deleting' });
      const gone = await waitFor('the mapping gone', () =>
        refusal(['lambda', 'get-event-source-mapping', '--uuid', uuid]).catch(() => undefined),
      );
      expect(gone).toContain('(ResourceNotFoundException)');
    }, 180_000);

    test("the poller acts as the function's role: once the role loses sqs:ReceiveMessage nothing is received (the message waits, logged as denied), and it flows again when granted back", async () => {
      grantPoller();
      const q = await queue('esm-revoked', 60);
      const created = await aws([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        'echo',
        '--event-source-arn',
        q.arn,
      ]);
      const uuid = created.UUID as string;
      // The role keeps everything but ReceiveMessage (put-role-policy replaces the statement).
      grant(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility']);
      const denials = () =>
        cloudLines.filter((l) => l.event === 'iam.denied' && l.action === 'sqs:ReceiveMessage' && l.resource === q.arn);
      // Polls already waiting when the grant went end first: every poller is refused a few times over.
      await waitFor('denied ReceiveMessage calls from every poller', () => denials().length >= 4);
      expect(denials()[0]).toMatchObject({
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/echo-role/${EVENT_SOURCE_MAPPING_SESSION}`,
        statement: null,
      });
      invoked.length = 0;
      await send(q.url, ['kept']);
      const before = denials().length;
      await waitFor('more denied polls after the message was sent', () => denials().length >= before + 2);
      expect(invoked).toEqual([]);
      expect(await depth(q.url)).toBe(1);
      grantPoller();
      await waitFor('the kept message invoked and deleted', () =>
        invoked.flat().length >= 1 ? depth(q.url).then((n) => n === 0) : false,
      );
      expect(invoked.flatMap(bodiesOf)).toEqual(['kept']);
      await aws(['lambda', 'delete-event-source-mapping', '--uuid', uuid]);
    }, 60_000);

    test('boto3: create, get, tag and list tags by the mapping ARN, update, delete', async () => {
      grantPoller();
      const q = await queue('esm-boto3', 60);
      const seen = JSON.parse(
        await runClient(boto3!.path, [
          join(__dirname, '..', 'clients', 'lambda_mappings_boto3.py'),
          gateway.endpoint,
          'echo',
          q.arn,
        ]),
      ) as Record<string, unknown>;
      const uuid = (seen.created as { UUID: string }).UUID;
      expect(seen).toEqual({
        created: {
          UUID: uuid,
          State: 'Creating',
          BatchSize: 4,
          MaximumBatchingWindowInSeconds: 1,
        },
        got: { State: 'Enabled', BatchSize: 4 },
        tags: { owner: 'boto3' },
        updated: { State: 'Disabled', BatchSize: 6 },
        deleted: 'Deleting',
        missing: 'ResourceNotFoundException',
      });
    }, 120_000);

    test('filter criteria: only matching messages reach the function; the others are deleted', async () => {
      grantPoller();
      const q = await queue('esm-filter', 60);
      const created = await aws([
        'lambda',
        'create-event-source-mapping',
        '--function-name',
        FUNCTION_ARN,
        '--event-source-arn',
        q.arn,
        '--filter-criteria',
        JSON.stringify({ Filters: [{ Pattern: JSON.stringify({ body: { kind: ['keep'] } }) }] }),
      ]);
      invoked.length = 0;
      await send(q.url, [JSON.stringify({ kind: 'keep', n: 1 }), JSON.stringify({ kind: 'drop', n: 2 }), 'not json']);
      await waitFor('the queue emptied', () => depth(q.url).then((n) => n === 0));
      expect(invoked.flatMap(bodiesOf)).toEqual([JSON.stringify({ kind: 'keep', n: 1 })]);
      await aws(['lambda', 'delete-event-source-mapping', '--uuid', created.UUID as string]);
    }, 120_000);

    test('a Kinesis mapping reads the stream from TRIM_HORIZON in batches of its size; a missing stream is refused', async () => {
      expect(
        await refusal([
          'lambda',
          'create-event-source-mapping',
          '--function-name',
          'echo',
          '--event-source-arn',
          `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/missing`,
          '--starting-position',
          'LATEST',
        ]),
      ).toContain(`Stream not found: arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/missing`);
      grantPoller();
      for (const n of [1, 2, 3, 4, 5])
        stream.putRecord({ partitionKey: 'k', data: Buffer.from(JSON.stringify({ n })) });
      invoked.length = 0;
      const created = await aws(streamMapping(['--batch-size', '2', '--maximum-retry-attempts', '1'], 'TRIM_HORIZON'));
      expect(created).toMatchObject({ StartingPosition: 'TRIM_HORIZON', BatchSize: 2, MaximumRetryAttempts: 1 });
      await waitFor('the 5 records invoked', () => invoked.flat().length >= 5);
      expect(invoked.map((batch) => batch.length)).toEqual([2, 2, 1]);
      await aws(['lambda', 'delete-event-source-mapping', '--uuid', created.UUID as string]);
    }, 120_000);

    test("a Kinesis mapping reads as the function's role: without kinesis:GetRecords the record waits (logged), and is read once granted back", async () => {
      grantPoller();
      const created = await aws(streamMapping());
      grant(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']);
      const denials = () => mappingLines.filter((l) => l.event === 'stream.read_denied' && l.streamArn === stream.arn);
      await waitFor('a denied read of the stream', () => denials().length > 0);
      expect(denials()[0]).toMatchObject({
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/echo-role/${EVENT_SOURCE_MAPPING_SESSION}`,
        action: 'kinesis:GetRecords',
        resource: stream.arn,
      });
      invoked.length = 0;
      stream.putRecord({ partitionKey: 'k', data: Buffer.from(JSON.stringify({ n: 'waited' })) });
      const before = denials().length;
      await waitFor('more denied reads after the put', () => denials().length >= before + 2);
      expect(invoked).toEqual([]);
      grantPoller();
      await waitFor('the waiting record invoked', () => invoked.flat().length >= 1);
      expect(invoked.flat()).toHaveLength(1);
      await aws(['lambda', 'delete-event-source-mapping', '--uuid', created.UUID as string]);
    }, 120_000);

    test("a Kinesis mapping's on-failure queue: refused when the role may not send to it; failure records are sent as the role", async () => {
      const failures = await queue('esm-stream-failures', 30);
      const create = streamMapping([
        '--maximum-retry-attempts',
        '0',
        '--destination-config',
        JSON.stringify({ OnFailure: { Destination: failures.arn } }),
      ]);
      grantPoller();
      expect(await refusal(create)).toContain(
        'InvalidParameterValueException) when calling the CreateEventSourceMapping operation: ' +
          'The provided execution role does not have permissions to call SendMessage on SQS',
      );
      grant([...POLLER_ACTIONS, 'sqs:SendMessage']);
      const created = await aws(create);
      // The role then loses sqs:SendMessage: the failed batch's record is refused as the role, and waits.
      grantPoller();
      const denials = () =>
        cloudLines.filter(
          (l) => l.event === 'iam.denied' && l.action === 'sqs:SendMessage' && l.resource === failures.arn,
        );
      invoked.length = 0;
      stream.putRecord({ partitionKey: 'k', data: Buffer.from('{"fail":true}') });
      await waitFor('a denied send of the failure record', () => denials().length > 0);
      expect(denials()[0]).toMatchObject({
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/echo-role/${EVENT_SOURCE_MAPPING_SESSION}`,
      });
      expect(await depth(failures.url)).toBe(0);
      grant([...POLLER_ACTIONS, 'sqs:SendMessage']);
      await waitFor('the failure record on the queue', async () => (await depth(failures.url)) === 1);
      expect(invoked.flat().filter(toldToFail)).toHaveLength(1);
      await aws(['lambda', 'delete-event-source-mapping', '--uuid', created.UUID as string]);
    }, 120_000);
  },
);
