/**
 * What an operator sees after the deploy, in both module flavours: the CloudWatch dashboard and its
 * output, the alarms on the functions (Errors, Throttles, Duration near the timeout), on the chain's
 * own metrics (records retried, rejected images) and on the upload API's 5xx, and the warning when
 * no alarm action is configured.
 */
import { Testing } from 'cdktf';
import { AnnotationMetadataEntryType } from 'cdktf/lib/annotations';
import { ImageResizeChainStack } from '../../modules/example-stacks';
import { ImageResizeChainProps } from '../../modules/image-resize-chain';
import { synthPlainModule } from '../../modules/terraform-module';
import { synthStreamSourceModule } from '../../modules/terraform-stream-source';
import { synthUploadApiModule } from '../../modules/terraform-upload-api';
import { CODE_DIMENSION, FUNCTION_DIMENSION, METRICS, METRICS_NAMESPACE } from '../../src/core/metrics';
import { TEST_IMAGES, TfJson, resourcesOf, synthChain } from './synth';

const UPLOAD_IMAGE = '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-upload:t1';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops';

type Alarm = Record<string, unknown> & { namespace: string; metric_name: string; dimensions: Record<string, string> };
const alarms = (doc: TfJson): Alarm[] => Object.values(resourcesOf(doc, 'aws_cloudwatch_metric_alarm')) as Alarm[];
/** The alarms on `metric` whose dimension `dim` interpolates `fragment` (e.g. the resize function's resource). */
const alarmsOn = (doc: TfJson, namespace: string, metric: string, dim: string, fragment: string): Alarm[] =>
  alarms(doc).filter(
    (a) => a.namespace === namespace && a.metric_name === metric && (a.dimensions?.[dim] ?? '').includes(fragment),
  );

const resizeFn = 'aws_lambda_function.chain_resize_function.function_name';
const publishFn = 'aws_lambda_function.chain_publish_function.function_name';
const uploadFn = 'aws_lambda_function.chain_upload_api_function_function.function_name';

function dashboardOf(doc: TfJson): {
  name: unknown;
  widgets: Array<{ properties: { title: string; metrics: unknown[] } }>;
} {
  const dashboards = Object.values(resourcesOf(doc, 'aws_cloudwatch_dashboard'));
  expect(dashboards).toHaveLength(1);
  return {
    name: dashboards[0].dashboard_name,
    ...(JSON.parse(String(dashboards[0].dashboard_body)) as {
      widgets: Array<{ properties: { title: string; metrics: unknown[] } }>;
    }),
  };
}

// Metadata entries carry their type as a plain string.
const WARN: string = AnnotationMetadataEntryType.WARN;

const warningsOf = (props: ImageResizeChainProps): string[] => {
  const stack = new ImageResizeChainStack(Testing.app(), 'test', { chain: { images: TEST_IMAGES, ...props } });
  return stack.chain.node.metadata.filter((m) => m.type === WARN).map((m) => String(m.data));
};

describe.each([
  [
    'CDKTF construct',
    () => synthChain({ images: { ...TEST_IMAGES, upload: UPLOAD_IMAGE }, uploadApi: { allowAnonymousUploads: true } }),
  ],
  ['plain module', () => synthPlainModule() as TfJson],
])('%s', (flavour, synth) => {
  const doc = synth();
  const plain = flavour === 'plain module';

  test('a dashboard shows the queues, the functions and the chain metrics; an output links to it in the console', () => {
    const { name, widgets } = dashboardOf(doc);
    const body = JSON.stringify(widgets);
    expect(widgets.map((w) => w.properties.title)).toEqual(
      expect.arrayContaining([
        'Queue depth (visible messages)',
        'Oldest message age (s)',
        'Dead letters (visible messages)',
        'Invocations',
        'Errors and throttles',
        'Duration p50 / p99 (ms)',
        'Images',
        'Rejected images by code',
        'Bytes in / out',
        'Render time (ms)',
        'Upload to manifest (ms)',
        'Cold starts',
      ]),
    );
    for (const queue of ['ingest', 'resized', 'rejected']) {
      expect(body).toContain(`aws_sqs_queue.chain_${queue}_queue.name`);
      expect(body).toContain(`aws_sqs_queue.chain_${queue}_dlq.name`);
    }
    for (const metric of ['Invocations', 'Errors', 'Throttles', 'Duration'])
      expect(body).toContain(`["AWS/Lambda","${metric}","FunctionName","\${${resizeFn}}"`);
    for (const m of Object.values(METRICS)) expect(body).toContain(`"${m.name}"`);
    expect(body).toContain(`{${METRICS_NAMESPACE},${CODE_DIMENSION},${FUNCTION_DIMENSION}}`);
    if (!plain) expect(body).toContain('"AWS/ApiGateway","5xx"');
    const url = doc.output?.dashboard_url?.value;
    expect(url).toMatch(
      /^https:\/\/\$\{data\.aws_region\.[a-z_]+\.name\}\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=\$\{data\.aws_region\.[a-z_]+\.name\}#dashboards\/dashboard\/\$\{aws_cloudwatch_dashboard\.[a-z_]+\.dashboard_name\}$/,
    );
    expect(name).toBe(plain ? '${var.name_prefix}' : 'image-resize-chain');
  });

  test('each function has Errors, Throttles and a p99 Duration alarm at 80 % of its timeout', () => {
    const fns: Array<[string, string]> = [
      [resizeFn, plain ? '${(var.resize_timeout * 800)}' : '48000'],
      [publishFn, plain ? '${(var.publish_timeout * 800)}' : '24000'],
    ];
    for (const [fn, threshold] of fns) {
      expect(alarmsOn(doc, 'AWS/Lambda', 'Errors', 'FunctionName', fn)).toEqual([
        expect.objectContaining({ statistic: 'Sum', threshold: 1 }),
      ]);
      expect(alarmsOn(doc, 'AWS/Lambda', 'Throttles', 'FunctionName', fn)).toEqual([
        expect.objectContaining({ statistic: 'Sum', threshold: 1 }),
      ]);
      const [duration, ...more] = alarmsOn(doc, 'AWS/Lambda', 'Duration', 'FunctionName', fn);
      expect(more).toEqual([]);
      expect(duration).toMatchObject({ extended_statistic: 'p99', comparison_operator: 'GreaterThanThreshold' });
      expect(String(duration.threshold)).toBe(threshold);
      expect(alarmsOn(doc, METRICS_NAMESPACE, METRICS.recordsFailed.name, FUNCTION_DIMENSION, fn)).toHaveLength(1);
    }
  });

  test('rejected images alarm on the EMF metric: any code per hour, and INVALID_EVENT at once', () => {
    const rejected = alarmsOn(doc, METRICS_NAMESPACE, METRICS.imagesRejected.name, FUNCTION_DIMENSION, resizeFn);
    expect(rejected.map((a) => [a.dimensions[CODE_DIMENSION], a.period, a.threshold]).sort()).toEqual([
      [undefined, 3600, 10],
      ['INVALID_EVENT', 300, 1],
    ]);
  });

  test('every alarm notifies the alarm actions on alarm and on recovery', () => {
    for (const a of alarms(doc))
      expect([a.alarm_name, a.alarm_actions, a.ok_actions]).toEqual([
        a.alarm_name,
        plain ? '${var.alarm_actions}' : [],
        plain ? '${var.alarm_actions}' : [],
      ]);
  });

  if (plain) {
    test('a check block warns at plan when alarm_actions is empty', () => {
      expect(doc.check).toEqual({
        alarm_actions: {
          assert: [
            { condition: '${length(var.alarm_actions) > 0}', error_message: expect.stringContaining('notify nobody') },
          ],
        },
      });
    });
  } else {
    test('the upload API has its function alarms and a 5xx alarm', () => {
      expect(alarmsOn(doc, 'AWS/Lambda', 'Errors', 'FunctionName', uploadFn)).toHaveLength(1);
      expect(alarmsOn(doc, 'AWS/Lambda', 'Duration', 'FunctionName', uploadFn)).toEqual([
        expect.objectContaining({ threshold: 8000 }),
      ]);
      const [fiveXx, ...more] = alarms(doc).filter((a) => a.namespace === 'AWS/ApiGateway');
      expect(more).toEqual([]);
      expect(fiveXx).toMatchObject({
        metric_name: '5xx',
        statistic: 'Sum',
        dimensions: {
          ApiId: expect.stringContaining('aws_apigatewayv2_api.'),
          Stage: expect.stringContaining('aws_apigatewayv2_stage.'),
        },
      });
    });
  }
});

test('the construct warns at synth when no alarm action is configured, and not when one is', () => {
  expect(warningsOf({})).toEqual([expect.stringContaining('alarmActions is empty')]);
  expect(warningsOf({ alarmActions: [TOPIC] })).toEqual([]);
  const doc = synthChain({ alarmActions: [TOPIC] });
  for (const a of alarms(doc)) expect(a.alarm_actions).toEqual([TOPIC]);
});

test('dashboard: false leaves out the dashboard and its outputs', () => {
  const doc = synthChain({ dashboard: false });
  expect(resourcesOf(doc, 'aws_cloudwatch_dashboard')).toEqual({});
  expect(doc.output?.dashboard_url).toBeUndefined();
});

test('the plain upload-api submodule has the function alarms, the 5xx alarm, alarm_actions and its check block', () => {
  const doc = synthUploadApiModule() as TfJson;
  expect(doc.variable?.alarm_actions).toMatchObject({ type: 'list(string)', default: [] });
  expect(
    alarms(doc)
      .map((a) => [a.namespace, a.metric_name])
      .sort(),
  ).toEqual([
    ['AWS/ApiGateway', '5xx'],
    ['AWS/Lambda', 'Duration'],
    ['AWS/Lambda', 'Errors'],
    ['AWS/Lambda', 'Throttles'],
  ]);
  for (const a of alarms(doc)) expect(a.alarm_actions).toBe('${var.alarm_actions}');
  expect(Object.keys(doc.check ?? {})).toEqual(['alarm_actions']);
});

test('the plain stream-source submodule warns at plan too when its alarm_actions is empty', () => {
  const doc = synthStreamSourceModule() as TfJson;
  expect(doc.check).toEqual({
    alarm_actions: {
      assert: [
        { condition: '${length(var.alarm_actions) > 0}', error_message: expect.stringContaining('notify nobody') },
      ],
    },
  });
});
