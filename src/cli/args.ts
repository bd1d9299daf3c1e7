/** Thin wrapper over node:util parseArgs that turns its errors into usage errors. */
import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";

/** Option values of a command: booleans for flags, strings for options with a value. */
export type CommandValues<T extends OptionSpecs> = {
  [K in keyof T]?: T[K]["type"] extends "boolean"
    ? boolean
    : T[K]["multiple"] extends true
      ? string[]
      : string;
};

type OptionSpecs = Record<string, { type: "string" | "boolean"; multiple?: boolean }>;

/** Parses `argv` for one command; unknown options and missing values are usage errors. */
export function parseCommand<T extends OptionSpecs>(
  argv: string[],
  options: T,
): { values: CommandValues<T>; positionals: string[] } {
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: parsed.values as CommandValues<T>, positionals: parsed.positionals };
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/** The value of a required option. */
export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") throw new UsageError(`missing ${flag}`);
  return value;
}

/** Splits a comma-separated list option. */
export function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
