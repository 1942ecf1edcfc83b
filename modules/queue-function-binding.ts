/**
 * `QueueFunctionBinding`: one stage of the chain. Binds a `BufferedQueue` to a `ContainerFunction`
 * with an event source mapping that reports partial batch failures, and grants the function's role
 * exactly what the mapping needs on that queue.
 */
import { Construct } from 'constructs';
import { Op } from 'cdktf';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import type { Precondition } from 'cdktf';
import { FUNCTION_RESPONSE_TYPES } from '../src/core/chain-defaults';
import { BufferedQueue } from './buffered-queue';
import { ContainerFunction } from './container-function';
import { checkBatchWindow, checkIntRange, checkVisibilityTimeout, isKnown } from './validation';

/** How a function consumes its queue. */
export interface QueueConsumptionOptions {
  /**
   * Messages per invocation (1-10000; above 10 needs `maxBatchingWindow` >= 1).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Seconds Lambda may wait to fill a batch (0-300).
   * @default 0 (Lambda's default: invoke as soon as a receive returns messages)
   */
  readonly maxBatchingWindow?: number;
  /**
   * Most concurrent invocations this mapping starts (2-1000): protects downstream systems and
   * the account's concurrency pool.
   * @default 10
   */
  readonly maximumConcurrency?: number;
}

export interface QueueFunctionBindingProps extends QueueConsumptionOptions {
  readonly queue: BufferedQueue;
  readonly fn: ContainerFunction;
}

export class QueueFunctionBinding extends Construct {
  readonly mapping: LambdaEventSourceMapping;

  constructor(scope: Construct, id: string, props: QueueFunctionBindingProps) {
    super(scope, id);
    const batchSize = props.batchSize ?? 10;
    const window = props.maxBatchingWindow ?? 0;
    const maximumConcurrency = props.maximumConcurrency ?? 10;
    checkIntRange(`${id}.batchSize`, batchSize, 1, 10000);
    checkIntRange(`${id}.maxBatchingWindow`, window, 0, 300);
    checkIntRange(`${id}.maximumConcurrency`, maximumConcurrency, 2, 1000);
    checkBatchWindow(`${id}.batchSize`, batchSize, window);
    checkVisibilityTimeout(
      `${props.queue.node.id}.visibilityTimeoutSeconds`,
      props.queue.visibilityTimeoutSeconds,
      props.fn.timeout,
    );

    // Values that are Terraform expressions (plain-module variables) are checked at plan time instead.
    const preconditions: Precondition[] = [];
    if (!isKnown(batchSize) || !isKnown(window)) {
      preconditions.push({
        condition: Op.or(Op.lte(batchSize, 10), Op.gte(window, 1)),
        errorMessage: 'A batch size above 10 needs a batching window of at least 1 second.',
      });
    }
    if (!isKnown(props.queue.visibilityTimeoutSeconds) || !isKnown(props.fn.timeout)) {
      preconditions.push({
        condition: Op.gte(props.queue.visibilityTimeoutSeconds, Op.mul(props.fn.timeout, 6)),
        errorMessage: 'The queue visibility timeout must be at least 6 times the function timeout.',
      });
    }

    props.queue.grantConsumeMessages(props.fn);
    this.mapping = new LambdaEventSourceMapping(this, 'mapping', {
      eventSourceArn: props.queue.queueArn,
      // The alias when the function has provisioned concurrency: invocations of the bare function
      // would run on on-demand environments and leave the provisioned ones idle.
      functionName: props.fn.invokeTargetArn,
      batchSize,
      maximumBatchingWindowInSeconds: window,
      functionResponseTypes: [...FUNCTION_RESPONSE_TYPES],
      scalingConfig: { maximumConcurrency },
      // Lambda checks the role's SQS permissions when the mapping is created.
      // With provisioned concurrency, polling starts once the environments are ready.
      dependsOn: [
        props.fn.rolePolicy,
        ...(props.fn.provisionedConcurrencyConfig ? [props.fn.provisionedConcurrencyConfig] : []),
      ],
      lifecycle: preconditions.length > 0 ? { precondition: preconditions } : undefined,
    });
  }
}
