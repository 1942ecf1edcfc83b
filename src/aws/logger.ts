import { Logger } from '@aws-lambda-powertools/logger';
import type { ResizePorts } from '../core/resize-batch';

/**
 * A Powertools logger: one JSON object per line with level, service, timestamp and, after
 * `addContext`, the request id, function name and cold-start flag. Level from `LOG_LEVEL`
 * (default INFO), as Powertools reads it.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** Adapts a logger to the core's `log` port. */
export function logPort(logger: Logger): ResizePorts['log'] {
  return (level, message, fields) => logger[level](message, fields);
}
