/**
 * The command-line framework: commander for parsing, help, suggestions and versions, plus the
 * house conventions every command follows (each option's help line gives its meaning, its default
 * and an example; errors are usage errors with exit code 2).
 */
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError, Option } from "commander";
import { UsageError } from "./errors.js";

/** Where a command writes: one line of results to `out`, one line of warnings to `err`. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Set by a command that succeeded only in part (3: some inputs skipped). */
  exitCode?: number;
}

/** One option: flags as commander spells them, its meaning, default and an example value. */
export interface OptionSpec {
  flags: string;
  meaning: string;
  /** The default as shown in help ("4", "all beams"); none for required or plain flags. */
  default?: string;
  /** One example of the option as typed, e.g. "--beams gt1l,strong". */
  example?: string;
  /** Parses and checks the value; throw {@link InvalidArgumentError} with a message. */
  parse?: (value: string, previous: unknown) => unknown;
  /** The option may be repeated (values collected into an array). */
  repeat?: boolean;
  required?: boolean;
}

/** The text of an option's help line. */
function describe(spec: OptionSpec): string {
  const extra = [
    spec.required ? "required" : spec.default !== undefined ? `default: ${spec.default}` : undefined,
    spec.example ? `e.g. ${spec.example}` : undefined,
  ].filter(Boolean);
  return extra.length > 0 ? `${spec.meaning} (${extra.join("; ")})` : spec.meaning;
}

/**
 * Adds options to a command. Required options are checked just before the action runs, after
 * commander has refused unknown options, so a misspelt `--polgon` is reported as such (with its
 * suggestion) rather than as a missing `--polygon`.
 */
export function addOptions(command: Command, specs: readonly OptionSpec[]): Command {
  const required: Option[] = [];
  for (const spec of specs) {
    const option = new Option(spec.flags, describe(spec));
    if (spec.repeat) option.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    else if (spec.parse) option.argParser(spec.parse as (v: string, p: unknown) => unknown);
    if (spec.required) required.push(option);
    command.addOption(option);
  }
  if (required.length > 0) {
    command.hook("preAction", (_program, action) => {
      const values = action.opts();
      for (const option of required) {
        const value = values[option.attributeName()];
        if (value === undefined || value === "")
          throw new UsageError(
            `${action.name()}: missing ${option.flags}; see geochunks help ${action.name()}`,
          );
      }
    });
  }
  return command;
}

/** An "Examples:" help section. */
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`);
}

/** Parser of an integer option in `min..max`. */
export function integerIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`not an integer in ${min}..${max}`);
    return n;
  };
}

/** Parser of an option whose value is one of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`not one of ${choices.join(", ")}`);
    return value as T;
  };
}

/** Splits a comma-separated list option. */
export function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The package version (package.json two folders up, from src/cli and from dist/cli alike). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

export { Command, InvalidArgumentError };
