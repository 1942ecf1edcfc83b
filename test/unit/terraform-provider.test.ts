/**
 * The provider settings that point Terraform and CDKTF at the local cloud (terraform-provider.ts):
 * the override file's content, and the CDKTF rendering of the same settings.
 */
import {
  DEFAULT_LOCAL_ENDPOINT,
  localCdktfProviderConfig,
  localEndpointKeys,
  parseLocalEndpoint,
  terraformOverride,
} from '../../src/local/terraform-provider';
import { localCaPath } from '../../src/local/local-tls';

const ENDPOINT = 'http://127.0.0.1:4566';

describe('terraformOverride', () => {
  const doc = JSON.parse(terraformOverride(ENDPOINT)) as { provider: { aws: Record<string, unknown> } };
  const aws = doc.provider.aws;

  test('points every service the module calls at the endpoint', () => {
    const services = [
      's3',
      'sqs',
      'lambda',
      'iam',
      'sts',
      'logs',
      'cloudwatch',
      'sns',
      'kms',
      'ecr',
      'apigatewayv2',
      'events',
      'kinesis',
    ];
    expect(Object.keys(aws.endpoints as object).sort()).toEqual([...services].sort());
    for (const service of services) expect((aws.endpoints as Record<string, string>)[service]).toBe(ENDPOINT);
  });

  test('path-style S3, the local credentials and no AWS account checks, but a real account id lookup', () => {
    expect(aws).toMatchObject({
      access_key: 'local',
      secret_key: 'local',
      s3_use_path_style: true,
      skip_credentials_validation: true,
      skip_requesting_account_id: false,
      skip_metadata_api_check: true,
      skip_region_validation: true,
    });
    // The configuration's own region, tags and other settings are kept: the override sets nothing else.
    expect(Object.keys(aws).sort()).toEqual(
      [
        'access_key',
        'endpoints',
        's3_use_path_style',
        'secret_key',
        'skip_credentials_validation',
        'skip_metadata_api_check',
        'skip_region_validation',
        'skip_requesting_account_id',
      ].sort(),
    );
  });

  test('is JSON with a trailing newline and says where it came from', () => {
    const text = terraformOverride(ENDPOINT);
    expect(text.endsWith('}\n')).toBe(true);
    expect((JSON.parse(text) as Record<string, string>)['//']).toContain('resize-chain tf-override');
  });
});

test('the CDKTF provider config carries the same settings under camelCase names', () => {
  const config = localCdktfProviderConfig(ENDPOINT) as Record<string, unknown>;
  const aws = (JSON.parse(terraformOverride(ENDPOINT)) as { provider: { aws: Record<string, unknown> } }).provider.aws;
  expect(config.endpoints).toEqual([aws.endpoints]);
  expect(config).toMatchObject({
    accessKey: 'local',
    secretKey: 'local',
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    skipRequestingAccountId: false,
    skipMetadataApiCheck: true,
    skipRegionValidation: true,
  });
  expect(Object.keys(config)).toHaveLength(Object.keys(aws).length);
});

test('an https endpoint (the default) has the provider trust the local CA: custom_ca_bundle / customCaBundle', () => {
  expect(DEFAULT_LOCAL_ENDPOINT).toBe('https://127.0.0.1:4566');
  const aws = (JSON.parse(terraformOverride(DEFAULT_LOCAL_ENDPOINT)) as { provider: { aws: Record<string, unknown> } })
    .provider.aws;
  expect(aws).toMatchObject({ custom_ca_bundle: localCaPath(), endpoints: { s3: DEFAULT_LOCAL_ENDPOINT } });
  expect(localCdktfProviderConfig(DEFAULT_LOCAL_ENDPOINT)).toMatchObject({ customCaBundle: localCaPath() });
});

test('every endpoint key is listed once', () => {
  const keys = localEndpointKeys();
  expect(new Set(keys).size).toBe(keys.length);
});

test.each([
  ['http://127.0.0.1:4566', 'http://127.0.0.1:4566'],
  ['http://127.0.0.1:4566/', 'http://127.0.0.1:4566'],
  ['https://localhost:8443', 'https://localhost:8443'],
  [DEFAULT_LOCAL_ENDPOINT, DEFAULT_LOCAL_ENDPOINT],
])('parseLocalEndpoint(%j) is %j', (value, expected) => {
  expect(parseLocalEndpoint(value)).toBe(expected);
});

test.each([
  'localhost:4566',
  '127.0.0.1',
  'ftp://127.0.0.1:21',
  'http://127.0.0.1:4566/path',
  'http://u:p@127.0.0.1:4566',
  '',
])('parseLocalEndpoint(%j) refuses it', (value) => {
  expect(parseLocalEndpoint(value)).toBeUndefined();
});
