import { DEFAULT_RESIZE_CONCURRENCY } from '../../src/core/chain-defaults';
import { publishConfigFromEnv, resizeConfigFromEnv } from '../../src/core/config';

const base = { OUTPUT_BUCKET: 'out', RESIZED_QUEUE_URL: 'http://q/resized', REJECTED_QUEUE_URL: 'http://q/rejected' };

describe('resizeConfigFromEnv', () => {
  it('applies documented defaults', () => {
    const cfg = resizeConfigFromEnv(base);
    expect(cfg).toMatchObject({
      outputBucket: 'out',
      outputPrefix: '',
      concurrency: 4,
      cacheControl: 'public, max-age=86400',
    });
    expect(cfg.variants.length).toBeGreaterThan(0);
  });
  it('defaults CONCURRENCY to the value the module deploys, defined once', () => {
    expect(resizeConfigFromEnv(base).concurrency).toBe(DEFAULT_RESIZE_CONCURRENCY);
  });
  it.each([
    [{ OUTPUT_BUCKET: undefined }, 'OUTPUT_BUCKET: is required'],
    [{ CONCURRENCY: '0' }, 'CONCURRENCY: "0" is not an integer in 1..16'],
    [{ OUTPUT_PREFIX: 'resized' }, 'OUTPUT_PREFIX: must end with "/"'],
    [{ VARIANTS: '[{"name":"x","width":-1,"format":"webp"}]' }, 'VARIANTS[0].width'],
  ])('refuses %j naming the variable', (override, fragment) => {
    expect(() => resizeConfigFromEnv({ ...base, ...override })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringContaining(fragment) }),
    );
  });
});

describe('publishConfigFromEnv', () => {
  it('has no webhook unless asked', () => {
    expect(publishConfigFromEnv({ OUTPUT_BUCKET: 'out' }).webhook).toBeUndefined();
  });
  it('requires https and a secret for webhooks', () => {
    expect(() =>
      publishConfigFromEnv({ OUTPUT_BUCKET: 'o', WEBHOOK_URL: 'http://x/hook', WEBHOOK_SECRET: 's' }),
    ).toThrow(/must use https/);
    expect(() => publishConfigFromEnv({ OUTPUT_BUCKET: 'o', WEBHOOK_URL: 'https://x/hook' })).toThrow(
      /WEBHOOK_SECRET_ARN: or WEBHOOK_SECRET is required/,
    );
    expect(
      publishConfigFromEnv({
        OUTPUT_BUCKET: 'o',
        WEBHOOK_URL: 'https://x/hook',
        WEBHOOK_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:s',
      }).webhook?.secretArn,
    ).toBe('arn:aws:secretsmanager:eu-west-1:1:secret:s');
    expect(
      publishConfigFromEnv({
        OUTPUT_BUCKET: 'o',
        WEBHOOK_URL: 'http://127.0.0.1:1/h',
        WEBHOOK_SECRET: 's',
        WEBHOOK_ALLOW_HTTP: 'true',
      }).webhook,
    ).toEqual({
      url: 'http://127.0.0.1:1/h',
      timeoutMs: 5000,
      secretArn: undefined,
    });
  });
});
