/**
 * The CLI's option tables and the help generated from them. Each command declares its options once
 * (in its file under commands/): node:util parseArgs reads the arguments with them, and the usage
 * text, the synopsis a usage error quotes, and `--help` are all written from the same table, so a
 * flag cannot be accepted without being documented or documented without being accepted.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One option of a command: how parseArgs reads it and how the synopsis shows it. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** The option may be given several times (`[--env K=V]...`). @default false */
  readonly multiple?: boolean;
  /** The value shown after the flag in the synopsis: a placeholder (`file.json`) or the default (`300`). */
  readonly shown?: string;
  /** Shown without brackets: the command refuses to run without it. @default false */
  readonly required?: boolean;
}

/** One form of a command as the help shows it: `start` and `start --ui` are two forms of one command. */
export interface UsageForm {
  /** The flag that selects this form, shown right after the command (`--ui`). @default none */
  readonly flag?: string;
  /** Positional arguments as shown (`[dir]`, `<handler>`, `s3-put`). @default none */
  readonly positionals?: string;
  /** The options this form's synopsis shows, in order (each must be in the command's table). */
  readonly shows: readonly string[];
  /** What the form does, one paragraph per line break; printed indented under the synopsis. */
  readonly description: string;
}

/** A command's table: every option it reads, and the forms the help shows. */
export interface CommandUsage {
  readonly name: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Whether positional arguments reach the command (checked by the command itself). */
  readonly allowPositionals: boolean;
  readonly forms: readonly UsageForm[];
}

/** Width the synopsis is wrapped at (continuation lines align under the first option). */
const SYNOPSIS_WIDTH = 112;

/** The parseArgs option config of a command's table. */
export function parseOptionsOf(usage: CommandUsage): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    Object.entries(usage.options).map(([name, spec]) => [
      name,
      spec.multiple ? { type: spec.type, multiple: true } : { type: spec.type },
    ]),
  );
}

/** How the synopsis shows one option: `[--timeout 300]`, `--bucket B`, `[--env K=V]...`. */
function optionSynopsis(name: string, spec: OptionSpec): string {
  const flag = spec.shown === undefined ? `--${name}` : `--${name} ${spec.shown}`;
  const shown = spec.required ? flag : `[${flag}]`;
  return spec.multiple ? `${shown}...` : shown;
}

/** The synopsis lines of a form, wrapped at SYNOPSIS_WIDTH. */
function synopsisLines(usage: CommandUsage, form: UsageForm): string[] {
  const head = ['  resize-chain', usage.name, form.flag, form.positionals]
    .filter((part) => part !== undefined)
    .join(' ');
  const indent = ' '.repeat(`  resize-chain ${usage.name} `.length);
  const parts = form.shows.map((name) => {
    const spec = usage.options[name];
    if (!spec) throw new Error(`usage of ${usage.name}: ${name} is shown but not declared`);
    return optionSynopsis(name, spec);
  });
  const lines = [head];
  for (const part of parts) {
    const last = lines[lines.length - 1];
    if (`${last} ${part}`.length > SYNOPSIS_WIDTH && last.trim() !== '') lines.push(`${indent}${part}`);
    else lines[lines.length - 1] = `${last} ${part}`;
  }
  return lines;
}

/** The usage text of every command: each form's synopsis, then its description indented. */
export function usageText(commands: readonly CommandUsage[]): string {
  const blocks = commands.flatMap((usage) =>
    usage.forms.map((form) =>
      [...synopsisLines(usage, form), ...form.description.split('\n').map((line) => `      ${line}`)].join('\n'),
    ),
  );
  return `Usage:\n${blocks.join('\n')}\n`;
}

/**
 * The synopsis of a command on one line (its accepted form), for a usage error. A command with
 * several forms (`start`, `start --ui`) gives the form whose flag `args` use, else the plain form.
 */
export function synopsisOf(usage: CommandUsage, args: readonly string[]): string {
  const form =
    usage.forms.find((f) => f.flag !== undefined && args.includes(f.flag)) ??
    usage.forms.find((f) => f.flag === undefined) ??
    usage.forms[0];
  return synopsisLines(usage, form)
    .map((line) => line.trim())
    .join(' ');
}

/** What parseArgs gives for a table's options: strings, booleans, or lists of them for `multiple`. */
export type ParsedOptions<O extends Readonly<Record<string, OptionSpec>>> = {
  [K in keyof O]?: O[K] extends { readonly type: 'boolean' }
    ? O[K] extends { readonly multiple: true }
      ? boolean[]
      : boolean
    : O[K] extends { readonly multiple: true }
      ? string[]
      : string;
};

/**
 * Reads `args` with a command's table (node:util parseArgs, strict: an unknown option, a missing
 * value or a positional the command does not take throws its ERR_PARSE_ARGS_* error).
 */
export function parseCommandArgs<O extends Readonly<Record<string, OptionSpec>>>(
  usage: CommandUsage & { readonly options: O },
  args: string[],
): { values: ParsedOptions<O>; positionals: string[] } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: usage.allowPositionals,
    options: parseOptionsOf(usage),
    strict: true,
  });
  // parseArgs types its values from a literal config only; the table's types say the same per option.
  return { values: values as ParsedOptions<O>, positionals };
}
