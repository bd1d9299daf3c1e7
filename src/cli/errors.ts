/** Mapping failures to one stderr line and an exit code. */
import { isGeochunksError } from "../errors.js";

/** Exit code for bad arguments or bad input. */
export const EXIT_BAD_INPUT = 2;
/** Exit code for runtime failures. */
export const EXIT_FAILURE = 1;

/** A command-line usage error (unknown option, missing argument). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Exit code for an error: 2 when the input or the arguments are at fault, 1 otherwise. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT_BAD_INPUT;
  if (isGeochunksError(err, "SourceError")) {
    const status = (err as Error & { status: number }).status;
    return status >= 400 && status < 500 ? EXIT_BAD_INPUT : EXIT_FAILURE;
  }
  if (
    isGeochunksError(
      err,
      "InvalidHdf5Error",
      "UnsupportedHdf5Error",
      "UnsupportedFilterError",
      "NotAGranuleError",
      "InvalidAoiError",
      "InvalidQueryError",
      "StoreError",
      "IndexMismatchError",
    )
  ) {
    return EXIT_BAD_INPUT;
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOENT" || code === "EISDIR" || code === "EACCES") return EXIT_BAD_INPUT;
  return EXIT_FAILURE;
}

/** The one line printed for an error. */
export function errorLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return `geochunks: ${message.split("\n")[0]}`;
}
