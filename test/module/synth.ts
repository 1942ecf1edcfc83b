/** Test helpers: synthesize stacks to parsed Terraform JSON and walk it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Testing } from 'cdktf';
import { isPipelineError } from '../../src/core/errors';
import { ImageResizeChainProps } from '../../modules/image-resize-chain';
import { ChainConsumerStack, ImageResizeChainStack } from '../../modules/example-stacks';

export type TfJson = {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown }>;
  variable?: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
};

/** Images given, so most tests skip hashing sources and creating repositories. */
export const TEST_IMAGES = {
  resize: '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-resize:t1',
  publish: '123456789012.dkr.ecr.us-east-1.amazonaws.com/irc-publish:t1',
};

/** `-var` arguments giving the plain module's function images (what examples/terraform asks for). */
export const MODULE_IMAGE_VARS: readonly string[] = [
  '-var',
  'resize_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-resize:v1',
  '-var',
  'publish_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-publish:v1',
];

/** MODULE_IMAGE_VARS and the upload API's image (what examples/terraform-full asks for). */
export const FULL_EXAMPLE_IMAGE_VARS: readonly string[] = [
  ...MODULE_IMAGE_VARS,
  '-var',
  'upload_image_uri=123456789012.dkr.ecr.eu-west-1.amazonaws.com/irc-upload:v1',
];

/** Synthesizes one chain stack (with `TEST_IMAGES` unless `images: undefined` is passed explicitly). */
export function synthChain(props: ImageResizeChainProps = {}): TfJson {
  const app: App = Testing.app();
  const stack = new ImageResizeChainStack(app, 'test', {
    chain: 'images' in props ? props : { images: TEST_IMAGES, ...props },
  });
  return JSON.parse(Testing.synth(stack)) as TfJson;
}

/** Synthesizes the example chain stack and the consumer stack together (cross-stack references). */
export function synthWithConsumer(rejectionHandlerImageUri?: string): { chain: TfJson; consumer: TfJson } {
  const app: App = Testing.app();
  const chainStack = new ImageResizeChainStack(app, 'chain-stack', { chain: { images: TEST_IMAGES } });
  const consumer = new ChainConsumerStack(app, 'consumer-stack', { chain: chainStack.chain, rejectionHandlerImageUri });
  // Cross-stack references are resolved only when the whole app is synthesized.
  app.synth();
  const read = (id: string): TfJson =>
    JSON.parse(readFileSync(join(app.outdir, 'stacks', id, 'cdk.tf.json'), 'utf8')) as TfJson;
  return { chain: read(chainStack.node.id), consumer: read(consumer.node.id) };
}

/** All resources of one type, by logical name. */
export function resourcesOf(doc: TfJson, type: string): Record<string, Record<string, unknown>> {
  return doc.resource?.[type] ?? {};
}

/** The only resource of a type whose logical name contains `fragment`. */
export function resourceNamed(doc: TfJson, type: string, fragment: string): Record<string, unknown> {
  const matches = Object.entries(resourcesOf(doc, type)).filter(([name]) => name.includes(fragment));
  if (matches.length !== 1)
    throw new Error(`expected one ${type} named *${fragment}*, found ${matches.map(([n]) => n).join(', ') || 'none'}`);
  return matches[0][1];
}

/** `type.name` addresses of every resource in the document. */
export function resourceAddresses(doc: TfJson): string[] {
  return Object.entries(doc.resource ?? {}).flatMap(([type, byName]) =>
    Object.keys(byName).map((name) => `${type}.${name}`),
  );
}

/** `type.name` addresses of the resources whose `count` is an expression (created or not at plan time). */
export function countedResourceAddresses(doc: TfJson): string[] {
  return Object.entries(doc.resource ?? {}).flatMap(([type, byName]) =>
    Object.entries(byName)
      .filter(([, r]) => r.count !== undefined)
      .map(([name]) => `${type}.${name}`),
  );
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}

export const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/** Parses a policy JSON string as rendered in the synthesized configuration. */
export function statementsOf(policy: unknown): Statement[] {
  if (typeof policy !== 'string') throw new Error(`policy is not a JSON string: ${JSON.stringify(policy)}`);
  return (JSON.parse(policy) as { Statement: Statement[] }).Statement;
}

/** `"${aws_s3_bucket.x.arn}"` -> `aws_s3_bucket.x`: the resource an interpolation points at. */
export function refTarget(value: unknown): string | undefined {
  const m = typeof value === 'string' ? /\$\{([a-z0-9_]+\.[a-z0-9_]+)\./.exec(value) : null;
  return m?.[1];
}

/** What a refused configuration says: the field and message of its INVALID_CONFIG error. Throws if it synthesizes. */
export function refusal(props: ImageResizeChainProps): { field?: string; message: string } {
  try {
    synthChain(props);
  } catch (err) {
    if (!isPipelineError(err) || err.code !== 'INVALID_CONFIG') throw err;
    return { field: err.subject.field, message: err.message };
  }
  throw new Error(`accepted ${JSON.stringify(props)}`);
}
