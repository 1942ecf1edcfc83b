import { PipelineError } from '../../src/core/errors';
import { DEFAULT_LIMITS, parseImageLimits } from '../../src/core/limits';
import {
  DEFAULT_VARIANTS,
  VARIANT_NAME_PATTERN,
  contentTypeFor,
  extensionFor,
  parseVariantSpecs,
  type OutputFormat,
} from '../../src/core/variants';

/** Runs `fn`, expecting an INVALID_CONFIG PipelineError; returns it. */
function configFailure(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('INVALID_CONFIG');
    expect((err as PipelineError).permanent).toBe(true);
    return err as PipelineError;
  }
  throw new Error('expected an INVALID_CONFIG error, but nothing was thrown');
}

const good = { name: 'thumb', width: 320, format: 'webp' };

describe('parseVariantSpecs', () => {
  it('accepts a minimal spec and fills in defaults', () => {
    expect(parseVariantSpecs([good])).toEqual([
      { name: 'thumb', width: 320, fit: 'inside', format: 'webp', quality: 80 },
    ]);
  });

  it('accepts a JSON string with every property', () => {
    const specs = parseVariantSpecs(
      JSON.stringify([
        { name: 'square', width: 400, height: 400, fit: 'cover', format: 'avif', quality: 55 },
        { name: 'box_2', width: 8192, height: 1, fit: 'contain', format: 'png', quality: 100 },
        { name: '0-jpeg', width: 1, format: 'jpeg', quality: 1 },
      ]),
    );
    expect(specs.map((s) => [s.name, s.width, s.height, s.fit, s.format, s.quality])).toEqual([
      ['square', 400, 400, 'cover', 'avif', 55],
      ['box_2', 8192, 1, 'contain', 'png', 100],
      ['0-jpeg', 1, undefined, 'inside', 'jpeg', 1],
    ]);
  });

  it('accepts the default variants themselves', () => {
    expect(parseVariantSpecs(JSON.stringify(DEFAULT_VARIANTS))).toEqual(DEFAULT_VARIANTS);
  });

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['width 0', { ...good, width: 0 }, 'variants[1].width', /0 is not an integer in 1\.\.8192/],
    ['width too big', { ...good, width: 8193 }, 'variants[1].width', /8193 .*1\.\.8192/],
    ['width fractional', { ...good, width: 320.5 }, 'variants[1].width', /320\.5 .*1\.\.8192/],
    ['width as string', { ...good, width: '320' }, 'variants[1].width', /"320" .*1\.\.8192/],
    ['width missing', { name: 'x', format: 'webp' }, 'variants[1].width', /undefined .*1\.\.8192/],
    ['height negative', { ...good, height: -5 }, 'variants[1].height', /-5 .*1\.\.8192/],
    ['quality 0', { ...good, quality: 0 }, 'variants[1].quality', /0 is not an integer in 1\.\.100/],
    ['quality 101', { ...good, quality: 101 }, 'variants[1].quality', /101 .*1\.\.100/],
    ['format gif', { ...good, format: 'gif' }, 'variants[1].format', /"gif" is not one of webp, avif, jpeg, png/],
    ['format missing', { name: 'x', width: 10 }, 'variants[1].format', /undefined is not one of/],
    [
      'fit stretch',
      { ...good, height: 10, fit: 'fill' },
      'variants[1].fit',
      /"fill" is not one of inside, cover, contain/,
    ],
    ['cover without height', { ...good, fit: 'cover' }, 'variants[1].height', /"cover" needs a height in 1\.\.8192/],
    ['name upper case', { ...good, name: 'Thumb' }, 'variants[1].name', /"Thumb" is not 1\.\.64 of a-z, 0-9/],
    ['name with slash', { ...good, name: 'a/b' }, 'variants[1].name', /"a\/b"/],
    ['name starting with dash', { ...good, name: '-x' }, 'variants[1].name', /"-x"/],
    ['name too long', { ...good, name: 'a'.repeat(65) }, 'variants[1].name', /1\.\.64/],
    [
      'unknown property',
      { ...good, widht: 3 },
      'variants[1].widht',
      /unknown property; accepted: name, width, height, fit, format, quality/,
    ],
    ['not an object', 'thumb', 'variants[1]', /"thumb" is not an object/],
  ];
  it.each(bad)('rejects %s, naming the field path, value and range', (_label, spec, field, message) => {
    const err = configFailure(() => parseVariantSpecs([{ name: 'first', width: 10, format: 'png' }, spec]));
    expect(err.subject.field).toBe(field);
    expect(err.message.startsWith(`${field}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });

  it('rejects duplicate names, naming both positions', () => {
    const err = configFailure(() =>
      parseVariantSpecs([good, { name: 'other', width: 10, format: 'png' }, { ...good, format: 'jpeg' }]),
    );
    expect(err.subject.field).toBe('variants[2].name');
    expect(err.message).toMatch(/"thumb" is already used by variants\[0\]/);
  });

  it('rejects bad JSON, non-arrays and wrong counts, naming the given field', () => {
    expect(configFailure(() => parseVariantSpecs('[{', 'VARIANTS')).message).toMatch(/^VARIANTS: not valid JSON/);
    expect(configFailure(() => parseVariantSpecs('{"name":"x"}')).message).toMatch(/^variants: .* is not an array/);
    expect(configFailure(() => parseVariantSpecs([])).message).toMatch(/has 0 variants; accepted 1\.\.20/);
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `v${i}`, width: 10, format: 'webp' }));
    expect(configFailure(() => parseVariantSpecs(many)).message).toMatch(/has 21 variants; accepted 1\.\.20/);
    expect(parseVariantSpecs(many.slice(0, 20))).toHaveLength(20);
  });
});

describe('DEFAULT_VARIANTS', () => {
  it('have unique key-safe names and are frozen', () => {
    const names = DEFAULT_VARIANTS.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(VARIANT_NAME_PATTERN);
    expect(Object.isFrozen(DEFAULT_VARIANTS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_VARIANTS[0])).toBe(true);
  });
});

describe('contentTypeFor / extensionFor', () => {
  it.each<[OutputFormat, string, string]>([
    ['webp', 'image/webp', 'webp'],
    ['avif', 'image/avif', 'avif'],
    ['jpeg', 'image/jpeg', 'jpg'],
    ['png', 'image/png', 'png'],
  ])('%s -> %s, .%s', (format, type, ext) => {
    expect(contentTypeFor(format)).toBe(type);
    expect(extensionFor(format)).toBe(ext);
  });
});

describe('parseImageLimits', () => {
  it('uses the defaults when nothing (or an empty string) is set', () => {
    expect(parseImageLimits({})).toEqual(DEFAULT_LIMITS);
    expect(parseImageLimits({ MAX_INPUT_BYTES: '', ALLOW_ANIMATED: ' ' })).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({ maxInputBytes: 52428800, maxInputPixels: 100000000, allowAnimated: false });
  });

  it('reads every variable', () => {
    expect(
      parseImageLimits({ MAX_INPUT_BYTES: '1048576', MAX_INPUT_PIXELS: '25000000', ALLOW_ANIMATED: 'TRUE' }),
    ).toEqual({
      maxInputBytes: 1048576,
      maxInputPixels: 25000000,
      allowAnimated: true,
    });
    expect(parseImageLimits({ ALLOW_ANIMATED: '0' }).allowAnimated).toBe(false);
    expect(parseImageLimits({ ALLOW_ANIMATED: '1' }).allowAnimated).toBe(true);
  });

  it.each([
    ['MAX_INPUT_BYTES', '0', /"0" is not an integer in 1\.\.1073741824/],
    ['MAX_INPUT_BYTES', '10MB', /"10MB" is not an integer in 1\.\.1073741824/],
    ['MAX_INPUT_BYTES', '2147483648', /1\.\.1073741824/],
    ['MAX_INPUT_PIXELS', '-1', /"-1" is not an integer in 1\.\.268402689/],
    ['MAX_INPUT_PIXELS', '1e6', /"1e6" is not an integer in 1\.\.268402689/],
    ['MAX_INPUT_PIXELS', '268402690', /1\.\.268402689/],
    ['ALLOW_ANIMATED', 'yes', /"yes" is not one of true, false, 1, 0/],
  ])('rejects %s=%s naming the variable and range', (name, value, message) => {
    const err = configFailure(() => parseImageLimits({ [name]: value }));
    expect(err.subject.field).toBe(name);
    expect(err.message.startsWith(`${name}: `)).toBe(true);
    expect(err.message).toMatch(message);
  });
});
