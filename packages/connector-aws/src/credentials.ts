import type { AwsCredentials, AwsCredentialsProvider } from "./config.js";

/** Refresh credentials this long before they expire; AWS's own SDK uses 5 minutes. */
export const DEFAULT_REFRESH_WINDOW_MS = 5 * 60 * 1000;

/**
 * Wraps a credentials source so that it is called once, then again only when
 * the credentials are within `refreshWindowMs` of expiring. Concurrent callers
 * share one request. Credentials without `expiration` are kept for good.
 */
export function memoizeCredentials(source: AwsCredentialsProvider, refreshWindowMs: () => number): AwsCredentialsProvider {
  let current: AwsCredentials | undefined;
  let pending: Promise<AwsCredentials> | undefined;
  const fresh = (creds: AwsCredentials): boolean => creds.expiration === undefined || creds.expiration.getTime() - refreshWindowMs() > Date.now();
  return async () => {
    if (current && fresh(current)) return current;
    pending ??= source().then(
      (creds) => {
        current = creds;
        pending = undefined;
        return creds;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };
}
