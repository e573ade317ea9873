// Retry with backoff for connection setup; what counts as transient is the caller's call.

export interface RetryOptions {
  /** Pause before each retry; its length is the number of retries. */
  delaysMs: readonly number[];
  shouldRetry(error: unknown): boolean;
  sleep?: (ms: number) => Promise<void>;
}

export const CONNECT_RETRY_DELAYS_MS = [250, 1000] as const;

export async function withRetry<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  for (let n = 0; ; n += 1) {
    try {
      return await attempt(n + 1);
    } catch (error) {
      const delay = options.delaysMs[n];
      if (delay === undefined || !options.shouldRetry(error)) throw error;
      await sleep(delay);
    }
  }
}
