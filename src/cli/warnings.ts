/** Source warnings on stderr: one line per server and kind, however many objects it serves. */
import type { SourceWarning } from "../source/http.js";

/**
 * An `onWarning` callback for a command run that prints the first warning of each kind from each
 * server as `warning: MESSAGE` through `err`, and drops the repeats (every granule on a server
 * that ignores ranges would say the same).
 * @example openSource(url, { http: { onWarning: warnOncePerHost(io.err) } })
 */
export function warnOncePerHost(err: (line: string) => void): (warning: SourceWarning) => void {
  const seen = new Set<string>();
  return (warning) => {
    const key = `${warning.code} ${warning.origin}`;
    if (seen.has(key)) return;
    seen.add(key);
    err(`warning: ${warning.message}`);
  };
}
