/** The provisioned-concurrency option of each stage: version, alias, config, mapping on the alias, refusals. */
import { isPipelineError } from '../../src/core/errors';
import { refTarget, resourceNamed, resourcesOf, synthChain } from './synth';

describe('provisioned concurrency', () => {
  test('off by default: no version published, no alias, mappings invoke the functions', () => {
    const doc = synthChain();
    expect(resourcesOf(doc, 'aws_lambda_alias')).toEqual({});
    expect(resourcesOf(doc, 'aws_lambda_provisioned_concurrency_config')).toEqual({});
    for (const fn of ['resize', 'publish']) {
      expect(resourceNamed(doc, 'aws_lambda_function', fn).publish).toBeUndefined();
      expect(resourceNamed(doc, 'aws_lambda_event_source_mapping', `${fn}_stage`).function_name).toBe(
        `\${aws_lambda_function.chain_${fn}_function.arn}`,
      );
    }
  });

  test(
    'on the resize stage: publishes a version, ' +
      'a live alias on it with the provisioned environments, and the mapping invokes the alias',
    () => {
      const doc = synthChain({ resize: { provisionedConcurrency: 2 } });
      expect(resourceNamed(doc, 'aws_lambda_function', 'resize').publish).toBe(true);
      const alias = resourceNamed(doc, 'aws_lambda_alias', 'resize');
      expect(alias).toMatchObject({
        name: 'live',
        function_name: '${aws_lambda_function.chain_resize_function.function_name}',
        function_version: '${aws_lambda_function.chain_resize_function.version}',
      });
      const pc = resourceNamed(doc, 'aws_lambda_provisioned_concurrency_config', 'resize');
      expect(pc).toMatchObject({
        provisioned_concurrent_executions: 2,
        function_name: '${aws_lambda_function.chain_resize_function.function_name}',
      });
      expect(refTarget(pc.qualifier)).toBe('aws_lambda_alias.chain_resize_alias');
      const mapping = resourceNamed(doc, 'aws_lambda_event_source_mapping', 'resize_stage');
      expect(mapping.function_name).toBe('${aws_lambda_alias.chain_resize_alias.arn}');
      expect(mapping.depends_on).toContain(
        'aws_lambda_provisioned_concurrency_config.chain_resize_provisioned_concurrency',
      );
      // The other stage is untouched.
      expect(resourceNamed(doc, 'aws_lambda_function', 'publish').publish).toBeUndefined();
      expect(resourceNamed(doc, 'aws_lambda_event_source_mapping', 'publish_stage').function_name).toBe(
        '${aws_lambda_function.chain_publish_function.arn}',
      );
    },
  );

  test('on both stages: one alias and one config each', () => {
    const doc = synthChain({ resize: { provisionedConcurrency: 10 }, publish: { provisionedConcurrency: 1 } });
    expect(Object.keys(resourcesOf(doc, 'aws_lambda_alias')).sort()).toEqual([
      'chain_publish_alias',
      'chain_resize_alias',
    ]);
    const configs = Object.values(resourcesOf(doc, 'aws_lambda_provisioned_concurrency_config')).map(
      (c) => c.provisioned_concurrent_executions,
    );
    expect(configs.sort()).toEqual([1, 10]);
  });

  const refusal = (props: Parameters<typeof synthChain>[0]): string => {
    try {
      synthChain(props);
    } catch (err) {
      if (isPipelineError(err) && err.code === 'INVALID_CONFIG') return err.message;
      throw err;
    }
    throw new Error('synth succeeded');
  };

  test('refuses a value that is not an integer in 1..1000', () => {
    expect(refusal({ resize: { provisionedConcurrency: 0 } })).toMatch(/resize\.provisionedConcurrency.*1\.\.1000/);
    expect(refusal({ resize: { provisionedConcurrency: 1.5 } })).toMatch(/resize\.provisionedConcurrency/);
    expect(refusal({ resize: { provisionedConcurrency: 1001, maximumConcurrency: 1000 } })).toMatch(/1\.\.1000/);
  });

  test('refuses more environments than the mapping can ever use, or than reserved concurrency', () => {
    // publish's mapping runs at most 5 invocations at once by default.
    expect(refusal({ publish: { provisionedConcurrency: 6 } })).toMatch(
      /publish\.provisionedConcurrency.*maximumConcurrency \(5\).*never used/,
    );
    expect(refusal({ resize: { provisionedConcurrency: 20, maximumConcurrency: 10 } })).toMatch(
      /maximumConcurrency \(10\)/,
    );
    expect(refusal({ resize: { provisionedConcurrency: 4, reservedConcurrency: 3 } })).toMatch(
      /reservedConcurrency \(3\)/,
    );
    expect(() => synthChain({ resize: { provisionedConcurrency: 20, maximumConcurrency: 20 } })).not.toThrow();
  });
});
