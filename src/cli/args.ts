/**
 * A small argument parser for the CLI: `--flag value`, `--flag=value`, boolean `--flag` and
 * `--no-flag`. Every flag must be declared, so a typo fails loudly instead of being ignored.
 */
import { CamError } from '../engine/errors.js';

/** The command line itself is wrong (unknown flag, missing value, ...): exit code 2. */
export class UsageError extends CamError {}

export type FlagSpec = Record<string, 'string' | 'boolean'>;

export interface ParsedArgs {
  /** String flags hold their (last) value; boolean flags hold true / false when given. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

export function parseArgs(argv: readonly string[], spec: FlagSpec): ParsedArgs {
  const values: ParsedArgs['values'] = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h') {
      values.help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      if (arg.startsWith('-') && arg.length > 1) throw new UsageError(`unknown option '${arg}'; see --help`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let negated = false;
    if (!(name in spec) && name.startsWith('no-') && spec[name.slice(3)] === 'boolean') {
      name = name.slice(3);
      negated = true;
    }
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option '--${name}'; see --help`);
    if (kind === 'boolean') {
      let value = true;
      if (inline !== undefined) {
        const word = BOOLEAN_WORDS[inline.toLowerCase()];
        if (word === undefined) throw new UsageError(`--${name} takes no value or true/false, got '${inline}'`);
        value = word;
      }
      values[name] = negated ? !value : value;
      continue;
    }
    if (negated) throw new UsageError(`unknown option '--no-${name}'; see --help`);
    let value = inline;
    if (value === undefined) {
      // A following `--flag` means the value was forgotten; a negative number is still a value.
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    values[name] = value;
  }
  return { values, positionals };
}

/** A required string flag. */
export function required(args: ParsedArgs, name: string, why = ''): string {
  const value = args.values[name];
  if (typeof value !== 'string' || value.length === 0) throw new UsageError(`missing required option --${name}${why}`);
  return value;
}

export function optionalString(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(args: ParsedArgs, name: string, fallback = false): boolean {
  const value = args.values[name];
  return typeof value === 'boolean' ? value : fallback;
}

/** A numeric flag; `integer` also requires a whole number, `min` a lower bound. */
export function numberFlag(
  args: ParsedArgs,
  name: string,
  options: { integer?: boolean; min?: number } = {},
): number | undefined {
  const text = optionalString(args, name);
  if (text === undefined) return undefined;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || (options.integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${options.integer ? 'an integer' : 'a number'}, got '${text}'`);
  }
  if (options.min !== undefined && value < options.min) throw new UsageError(`--${name} must be at least ${options.min}, got ${value}`);
  return value;
}

/** One of a fixed set of words; the message lists the choices. */
export function choice<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback: T): T {
  const value = optionalString(args, name);
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`unknown ${name} '${value}'; choose one of ${choices.join(', ')}`);
  }
  return value as T;
}

export function rejectPositionals(args: ParsedArgs, command: string): void {
  if (args.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${args.positionals[0]}' for ${command}; options are given as --name value`);
  }
}
