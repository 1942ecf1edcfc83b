/** The CDKTF module: the `ImageResizeChain` construct and its reusable parts. */
export * from './policy';
export * from './validation';
export * from './bucket';
export * from './buffered-queue';
export * from './container-function';
export * from './queue-function-binding';
export * from './image-repository';
export * from './source-hash';
export * from './role-policy';
export * from './readable-stack';
export * from './upload-api';
export * from './stream-source';
export * from './image-resize-chain';
export * from './outputs';
export * from './alarm-topic';
