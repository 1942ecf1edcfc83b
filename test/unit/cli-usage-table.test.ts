/** The CLI's option tables (src/cli/usage.ts): what parseArgs accepts is what the help documents. */
import { COMMAND_USAGES } from '../../src/cli/command-tables';
import { INVOKE_USAGE } from '../../src/cli/commands/invoke';
import { RESIZE_USAGE } from '../../src/cli/commands/resize';
import { START_USAGE } from '../../src/cli/commands/start';
import { UP_USAGE } from '../../src/cli/commands/up';
import { parseCommandArgs, synopsisOf, usageText } from '../../src/cli/usage';

describe.each(COMMAND_USAGES.map((c) => [c.name, c] as const))('resize-chain %s', (_name, usage) => {
  const help = usageText([usage]);

  test('documents every option it accepts, in a synopsis or its description', () => {
    const undocumented = Object.keys(usage.options).filter((name) => !new RegExp(`--${name}(?![\\w-])`).test(help));
    expect(undocumented).toEqual([]);
  });

  test('shows only options it declares', () => {
    for (const form of usage.forms) for (const name of form.shows) expect(usage.options).toHaveProperty([name]);
  });
});

test('the synopsis marks required options, defaults and repeatable options as the table says', () => {
  expect(synopsisOf(INVOKE_USAGE, [])).toBe(
    'resize-chain invoke <handler> --event <file|-> [--image IMAGE] [--env K=V]... [--timeout 30]',
  );
  expect(synopsisOf(START_USAGE, ['--ui'])).toMatch(/^resize-chain start --ui \[--port 0\]/);
  expect(synopsisOf(START_USAGE, ['x'])).toMatch(/^resize-chain start \[dir\] \[--out out\]/);
});

test('parses with the table: values typed per option, an undeclared option refused', () => {
  const { values, positionals } = parseCommandArgs(UP_USAGE, [
    '--port',
    '5000',
    '--json',
    '--allow-origin',
    'http://a',
    '--allow-origin',
    'http://b',
  ]);
  expect(values).toEqual({ port: '5000', json: true, 'allow-origin': ['http://a', 'http://b'] });
  expect(positionals).toEqual([]);
  expect(() => parseCommandArgs(RESIZE_USAGE, ['--colour', 'red'])).toThrow(
    expect.objectContaining({ code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' }),
  );
});
