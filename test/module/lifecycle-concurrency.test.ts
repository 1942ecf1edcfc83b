/**
 * The source bucket's lifecycle (incomplete multipart uploads aborted after 1 day; optional expiry
 * of processed uploads, off by default) and reserved concurrency for every function, in both module
 * flavours.
 */
import { synthPlainModule } from '../../modules/terraform-module';
import { refusal, resourcesOf, synthChain, type TfJson } from './synth';

type Rule = {
  id: string;
  status: string;
  filter: Array<{ prefix?: string }>;
  abort_incomplete_multipart_upload?: Array<{ days_after_initiation: number }>;
  expiration?: Array<{ days: unknown }>;
};
const rulesOf = (doc: TfJson): Rule[] => {
  const configs = Object.values(resourcesOf(doc, 'aws_s3_bucket_lifecycle_configuration'));
  expect(configs).toHaveLength(1);
  expect(configs[0].bucket).toBe('${aws_s3_bucket.chain_source_bucket.id}');
  return configs[0].rule as Rule[];
};

describe('source bucket lifecycle', () => {
  test('by default: incomplete multipart uploads are aborted after 1 day, uploads are kept', () => {
    expect(rulesOf(synthChain())).toEqual([
      {
        id: 'abort-incomplete-multipart-uploads',
        status: 'Enabled',
        filter: [{}],
        abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }],
      },
    ]);
  });

  test('expireUploadsAfterDays expires objects under the uploads prefix only', () => {
    const rules = rulesOf(synthChain({ expireUploadsAfterDays: 30, uploadsPrefix: 'in/' }));
    expect(rules[1]).toEqual({
      id: 'expire-processed-uploads',
      status: 'Enabled',
      filter: [{ prefix: 'in/' }],
      expiration: [{ days: 30 }],
    });
  });

  test.each([
    [{ expireUploadsAfterDays: 14 }, 'expireUploadsAfterDays', /15\.\.36500/],
    [
      { expireUploadsAfterDays: 30, sourceBucket: { existingBucketName: 'team-uploads' } },
      'expireUploadsAfterDays',
      /existing bucket's lifecycle stays with its owner/,
    ],
  ])('refuses %j', (props, field, message) => {
    const r = refusal(props);
    expect(r.field).toBe(field);
    expect(r.message).toMatch(message);
  });

  test("an existing source bucket gets no lifecycle configuration (it would replace the owner's)", () => {
    expect(
      resourcesOf(
        synthChain({ sourceBucket: { existingBucketName: 'team-uploads' } }),
        'aws_s3_bucket_lifecycle_configuration',
      ),
    ).toEqual({});
  });

  test('the plain module: uploads_expiration_days (0 = off) enables the expiry rule at plan time', () => {
    const doc = synthPlainModule() as TfJson;
    const rules = rulesOf(doc);
    expect(rules[0].abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 1 }]);
    expect(rules[1]).toEqual({
      id: 'expire-processed-uploads',
      status: '${(var.uploads_expiration_days >= 1) ? "Enabled" : "Disabled"}',
      filter: [{ prefix: '${var.uploads_prefix}' }],
      expiration: [{ days: '${max(var.uploads_expiration_days, 1)}' }],
    });
    expect(doc.variable?.uploads_expiration_days).toMatchObject({ type: 'number', default: 0 });
  });
});

describe('reserved concurrency', () => {
  test('resize and publish take reservedConcurrency; none by default', () => {
    const fns = (doc: TfJson) =>
      Object.fromEntries(
        Object.entries(resourcesOf(doc, 'aws_lambda_function')).map(([n, f]) => [n, f.reserved_concurrent_executions]),
      );
    expect(fns(synthChain())).toEqual({ chain_resize_function: undefined, chain_publish_function: undefined });
    expect(fns(synthChain({ resize: { reservedConcurrency: 20 }, publish: { reservedConcurrency: 5 } }))).toEqual({
      chain_resize_function: 20,
      chain_publish_function: 5,
    });
  });

  test(
    'the plain module has resize_ and publish_reserved_concurrency (null = unreserved), ' +
      'checked against provisioned concurrency at plan',
    () => {
      const doc = synthPlainModule() as TfJson;
      for (const stage of ['resize', 'publish']) {
        expect(resourcesOf(doc, 'aws_lambda_function')[`chain_${stage}_function`].reserved_concurrent_executions).toBe(
          `\${var.${stage}_reserved_concurrency}`,
        );
        expect(doc.variable?.[`${stage}_reserved_concurrency`]).toMatchObject({
          type: 'number',
          nullable: true,
          default: null,
        });
        const config = resourcesOf(doc, 'aws_lambda_provisioned_concurrency_config')[
          `chain_${stage}_provisioned_concurrency`
        ];
        const conditions = (config.lifecycle as { precondition: Array<{ condition: string }> }).precondition.map(
          (p) => p.condition,
        );
        expect(conditions).toContain(
          `\${coalesce(var.${stage}_reserved_concurrency, ` +
            `var.${stage}_provisioned_concurrency) >= var.${stage}_provisioned_concurrency}`,
        );
      }
    },
  );
});
