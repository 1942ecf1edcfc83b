// The handlers' structured logger (src/aws/logger.ts): the Powertools fields and order, levels, errors.
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { createLogger, logLevelFromEnv, logPort, type LoggerOptions } from '../../src/aws/logger';
import { PipelineError } from '../../src/core/errors';
import { captureJsonLines } from '../helpers/captured-output';

function capture(env: NodeJS.ProcessEnv = {}) {
  const lines: Array<{ level: string; record: Record<string, unknown>; raw: string }> = [];
  const opts: LoggerOptions = {
    env,
    now: () => new Date('2026-11-28T12:00:00.000Z'),
    write: (level, line) => lines.push({ level, record: JSON.parse(line) as Record<string, unknown>, raw: line }),
  };
  return { lines, opts };
}

const context = (requestId: string): Context =>
  ({
    awsRequestId: requestId,
    functionName: 'resize',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:resize',
    memoryLimitInMB: '1024',
    functionVersion: '$LATEST',
  }) as Context;

describe('createLogger', () => {
  it('writes one JSON object per line with the Powertools fields in their order, then the caller fields', () => {
    const { lines, opts } = capture({
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      _X_AMZN_TRACE_ID: 'Root=1-abc-def;Parent=123;Sampled=1',
    });
    const logger = createLogger('resize', opts);
    logger.info('before any invocation', { a: 1 });
    logger.addContext(context('req-1'));
    logger.info('first', { messageId: 'm1', nested: { b: 2 } });
    logger.addContext(context('req-2'));
    logger.info('second');
    expect(lines.map((l) => l.raw)).toEqual([
      '{"level":"INFO","message":"before any ' +
        'invocation","timestamp":"2026-11-28T12:00:00.000Z","service":"resize","xray_trace_id":"1-abc-def","a":1}',
      '{"level":"INFO","message":"first","timestamp":"2026-11-28T12:00:00.000Z","service":"resize",' +
        '"cold_start":true,"function_arn":"arn:aws:lambda:us-east-1:123456789012:function:resize",' +
        '"function_memory_size":"1024","function_name":"resize","function_request_id":"req-1",' +
        '"xray_trace_id":"1-abc-def","messageId":"m1","nested":{"b":2}}',
      '{"level":"INFO","message":"second","timestamp":"2026-11-28T12:00:00.000Z","service":"resize",' +
        '"cold_start":false,"function_arn":"arn:aws:lambda:us-east-1:123456789012:function:resize",' +
        '"function_memory_size":"1024","function_name":"resize",' +
        '"function_request_id":"req-2","xray_trace_id":"1-abc-def"}',
    ]);
  });

  it('has no cold start outside an on-demand sandbox, and no xray_trace_id when not traced', () => {
    const { lines, opts } = capture({ AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' });
    const logger = createLogger('publish', opts);
    logger.addContext(context('req-1'));
    logger.info('x');
    expect(lines[0].record).toMatchObject({ cold_start: false, function_request_id: 'req-1' });
    expect(lines[0].record).not.toHaveProperty('xray_trace_id');
  });

  it('serialises errors with name, message, stack and a PipelineError code and subject, at any depth', () => {
    const { lines, opts } = capture();
    const logger = createLogger('resize', opts);
    const err = new PipelineError(
      'S3_ERROR',
      'GetObject failed',
      { bucket: 'b', key: 'k' },
      { cause: new Error('socket hang up') },
    );
    logger.error('failed', { error: err, list: [new TypeError('bad')] });
    logger.error('as second argument', new RangeError('out of range'));
    const first = lines[0].record as { error: Record<string, unknown>; list: Array<Record<string, unknown>> };
    expect(first.error).toMatchObject({
      name: 'PipelineError',
      message: 'GetObject failed',
      code: 'S3_ERROR',
      subject: { bucket: 'b', key: 'k' },
      cause: { name: 'Error', message: 'socket hang up' },
    });
    expect(first.error.stack).toEqual(expect.stringContaining('GetObject failed'));
    expect(first.list[0]).toMatchObject({ name: 'TypeError', message: 'bad' });
    expect(lines[1].record).toMatchObject({ level: 'ERROR', error: { name: 'RangeError', message: 'out of range' } });
    expect(lines.map((l) => l.level)).toEqual(['ERROR', 'ERROR']);
  });

  it('survives values JSON cannot hold: bigint and circular references', () => {
    const { lines, opts } = capture();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const selfCaused = new Error('again', { cause: undefined });
    (selfCaused as { cause?: unknown }).cause = selfCaused;
    createLogger('resize', opts).info('odd values', { big: 10n, cyclic, error: selfCaused });
    expect(lines[0].record).toMatchObject({
      big: '10',
      cyclic: { name: 'loop', self: '[Circular]' },
      error: { message: 'again', cause: '[Circular]' },
    });
  });

  it('honours LOG_LEVEL, and the stricter AWS_LAMBDA_LOG_LEVEL', () => {
    const debug = capture({ LOG_LEVEL: 'debug' });
    const logger = createLogger('resize', debug.opts);
    logger.debug('d');
    logger.info('i');
    expect(debug.lines.map((l) => l.record.level)).toEqual(['DEBUG', 'INFO']);

    const quiet = capture({ LOG_LEVEL: 'DEBUG', AWS_LAMBDA_LOG_LEVEL: 'WARN' });
    const strict = createLogger('resize', quiet.opts);
    strict.info('dropped');
    strict.warn('kept');
    expect(quiet.lines.map((l) => l.record.message)).toEqual(['kept']);

    const silent = capture({ LOG_LEVEL: 'SILENT' });
    createLogger('resize', silent.opts).error('dropped');
    expect(silent.lines).toEqual([]);

    expect(logLevelFromEnv({})).toEqual({ level: 'INFO' });
    expect(logLevelFromEnv({ POWERTOOLS_LOG_LEVEL: 'error', LOG_LEVEL: 'debug' })).toEqual({ level: 'ERROR' });
    expect(logLevelFromEnv({ AWS_LAMBDA_LOG_LEVEL: 'FATAL' })).toEqual({ level: 'CRITICAL' });
  });

  it('says once, at creation, that an unknown LOG_LEVEL is ignored', () => {
    const { lines, opts } = capture({ LOG_LEVEL: 'verbose' });
    const logger = createLogger('resize', opts);
    logger.info('after');
    expect(lines.map((l) => [l.level, l.record.message])).toEqual([
      ['WARN', expect.stringContaining('"verbose"')],
      ['INFO', 'after'],
    ]);
    expect(lines[0].record).toMatchObject({ field: 'LOG_LEVEL' });
  });

  it("logPort passes the core's level, message and fields through", () => {
    const { lines, opts } = capture();
    logPort(createLogger('resize', opts))('warn', 'source rejected', { code: 'CORRUPT' });
    expect(lines[0]).toMatchObject({
      level: 'WARN',
      record: { level: 'WARN', message: 'source rejected', code: 'CORRUPT' },
    });
  });
});

/**
 * The README's claim, checked against the real package: for the same calls in the same sandbox
 * (environment, context, trace id), our lines carry the keys Powertools Logger 2.x writes, in its
 * order, with its values. Set aside, as Powertools-only: `sampling_rate` (its debug-sampling
 * feature, which we do not have) and an error's `location` (file:line, which a bundled handler's
 * stack already carries); the clock and the stack text differ by nature.
 */
describe('compatibility with Powertools Logger (@aws-lambda-powertools/logger, the real package)', () => {
  const SANDBOX = {
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  };
  let saved: NodeJS.ProcessEnv;
  beforeEach(() => {
    saved = process.env;
    process.env = { ...saved, ...SANDBOX };
  });
  afterEach(() => {
    process.env = saved;
    jest.restoreAllMocks();
  });

  /** The same session of calls, made on either logger. */
  type Session = {
    addContext(c: Context): void;
    info(m: string, f: Record<string, unknown>): void;
    error(m: string, f: Record<string, unknown>): void;
  };
  function session(logger: Session): void {
    logger.addContext(context('req-1'));
    logger.info('batch done', { records: 3, messageId: 'm1', nested: { bucket: 'b', key: 'uploads/a.jpg' } });
    logger.error('source failed, will retry', { messageId: 'm2', error: new TypeError('socket hang up') });
    logger.addContext(context('req-2'));
    logger.info('second invocation', {});
  }

  /** Powertools' lines, read from the streams it writes to (stdout, and stderr for errors), in call order. */
  function powertoolsLines(): Array<Record<string, unknown>> {
    const out = captureJsonLines();
    const powertools = new Logger({ serviceName: 'resize' });
    session({
      addContext: (c) => powertools.addContext(c),
      info: (m, f) => powertools.info(m, f),
      error: (m, f) => powertools.error(m, f),
    });
    jest.restoreAllMocks();
    return out;
  }

  /** What both write, keys in order; the Powertools-only keys and the values that differ by nature set aside. */
  function comparable(record: Record<string, unknown>): Array<[string, unknown]> {
    return Object.entries(record)
      .filter(([key]) => key !== 'sampling_rate')
      .map(([key, value]): [string, unknown] => {
        if (key === 'timestamp')
          return [
            key,
            typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)
              ? 'ISO 8601, ms, UTC'
              : value,
          ];
        if (key === 'error' && value && typeof value === 'object') {
          const { location: _location, stack, ...rest } = value as Record<string, unknown>;
          return [
            key,
            {
              ...rest,
              stack:
                typeof stack === 'string' && stack.startsWith(`${String(rest.name)}: ${String(rest.message)}\n`)
                  ? 'a stack'
                  : stack,
            },
          ];
        }
        return [key, value];
      });
  }

  it('writes the same keys, in the same order, with the same values for the same calls', () => {
    const theirs = powertoolsLines();
    const ours = capture(process.env);
    session(createLogger('resize', { ...ours.opts, now: () => new Date() }));
    expect(theirs).toHaveLength(3);
    expect(ours.lines.map((l) => comparable(l.record))).toEqual(theirs.map(comparable));
    expect(ours.lines.map((l) => l.level)).toEqual(['INFO', 'ERROR', 'INFO']);
    // The keys the README names, present in both.
    for (const key of [
      'level',
      'message',
      'timestamp',
      'service',
      'cold_start',
      'function_request_id',
      'xray_trace_id',
    ]) {
      expect({ key, ours: key in ours.lines[0].record, theirs: key in theirs[0] }).toEqual({
        key,
        ours: true,
        theirs: true,
      });
    }
  });
});
