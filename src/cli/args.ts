/** Thin wrapper over node:util parseArgs that turns its errors into usage errors. */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.js";

/** Parses `argv` for one command; unknown options and missing values are usage errors. */
export function parseCommand<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
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
