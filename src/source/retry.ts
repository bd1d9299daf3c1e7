/** Retries of transient failures with capped exponential backoff and full jitter. */

/** Default number of retries after the first attempt (so at most 5 requests for one read). */
export const DEFAULT_RETRIES = 4;

/** Default delay scale of the first retry, milliseconds (the delay is drawn from [0, base)). */
export const DEFAULT_BACKOFF_BASE_MS = 100;

/**
 * Default cap of one backoff delay, milliseconds. Object stores ask clients that hit request-rate limits
 * (S3 SlowDown) to back off for seconds, not minutes; with the defaults the last retry waits up to 1.6 s.
 */
export const DEFAULT_BACKOFF_MAX_MS = 5_000;

/** Parameters of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay scale of retry 0, milliseconds; default {@link DEFAULT_BACKOFF_BASE_MS}. */
  baseMs?: number;
  /** Largest delay, milliseconds; default {@link DEFAULT_BACKOFF_MAX_MS}. */
  maxMs?: number;
  /** Uniform random numbers in [0, 1); default `Math.random`. Inject a constant for tests. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (0 for the first retry), milliseconds: "full jitter", a uniform
 * draw from [0, min(maxMs, baseMs * 2^attempt)). Full jitter spreads clients that failed together (a burst
 * of 503s) so they do not come back in lockstep.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const max = opts.maxMs ?? DEFAULT_BACKOFF_MAX_MS;
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Options of {@link retrying}. */
export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt; default {@link DEFAULT_RETRIES}. 0 disables retrying. */
  retries?: number;
  /** Whether a failure is transient and worth another attempt. */
  retryable(err: unknown): boolean;
  /**
   * Smallest wait the failure itself asks for (a server's Retry-After), milliseconds; the wait is then the
   * larger of this and the backoff, still capped at `maxMs`.
   */
  delayHint?(err: unknown): number | undefined;
  /** Called before each backoff wait (for counting); must not throw. */
  onRetry?(attempt: number, err: unknown, delayMs: number): void;
  /** Aborts the wait between attempts; no attempt starts after it aborts. */
  signal?: AbortSignal;
}

/**
 * Runs `attempt` until it succeeds, it fails with an error that is not retryable, or the retries are used
 * up; then rejects with that last error (wrap it to say how many attempts were made).
 * @param attempt receives the attempt number, 0 for the first.
 * @throws the last error of `attempt`, or the signal's reason when aborted.
 */
export async function retrying<T>(attempt: (n: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retries = opts.retries ?? DEFAULT_RETRIES;
  for (let n = 0; ; n++) {
    opts.signal?.throwIfAborted();
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= retries || opts.signal?.aborted || !opts.retryable(err)) throw err;
      const hint = Math.min(opts.delayHint?.(err) ?? 0, opts.maxMs ?? DEFAULT_BACKOFF_MAX_MS);
      const delay = Math.max(backoffDelay(n, opts), hint);
      opts.onRetry?.(n, err, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/** Resolves after `ms` milliseconds, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
