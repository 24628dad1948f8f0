import { SECRET_MASK } from "@stackyard/core";

/**
 * What went wrong in an AWS call, as far as the message a user reads is
 * concerned. Each component words its own message and hint for each kind.
 */
export type AwsErrorKind =
  /** The endpoint did not answer (a socket error or a timeout). */
  | "unreachable"
  /** The credentials were valid once and have expired. */
  | "expired"
  /** AWS does not accept the credentials (unknown key, bad signature). */
  | "rejected"
  /** The SDK found no credentials at all. */
  | "no-credentials"
  /** The identity may not make this call. */
  | "denied"
  /** The resource lives in another region than the client's. */
  | "wrong-region"
  /** The object, bucket key or resource does not exist. */
  | "not-found"
  | "other";

const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"]);
const REJECTED = new Set([
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "AuthFailure",
  "InvalidToken",
  "IncompleteSignature",
  "InvalidSignatureException",
]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "AllAccessDisabled"]);
const WRONG_REGION = new Set(["PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"]);
const NOT_FOUND = new Set(["NotFound", "NoSuchKey", "ResourceNotFoundException"]);
/** Node's socket error codes (ECONNREFUSED, ENOTFOUND, ETIMEDOUT...). */
const NETWORK = /^E[A-Z]+$/;

interface AwsErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

/** The HTTP status AWS answered with, if it answered. */
export function awsHttpStatus(error: unknown): number | undefined {
  return (error as AwsErrorLike | undefined)?.$metadata?.httpStatusCode;
}

/** The region S3 says a bucket is in, when it redirects a request made in another region. */
export function awsRedirectRegion(error: unknown): string | undefined {
  return (error as AwsErrorLike | undefined)?.$response?.headers?.["x-amz-bucket-region"];
}

/**
 * The AWS error code of `error` (`NoSuchKey`, `AccessDeniedException`), or the
 * socket error code when the call never reached AWS, looked for in the error,
 * the errors it aggregates and its cause.
 */
export function awsErrorCode(error: unknown): string {
  const e = (error ?? {}) as AwsErrorLike;
  for (const candidate of [e, ...(e.errors ?? []), e.cause]) {
    const code = (candidate as AwsErrorLike | undefined)?.code;
    if (code && NETWORK.test(code)) return code;
  }
  return e.Code ?? e.name ?? e.code ?? "Error";
}

/** Access denied by IAM (or an S3 bucket policy): a 403, or one of AWS's denial codes. */
export function isAwsAccessDenied(error: unknown): boolean {
  return DENIED.has(awsErrorCode(error)) || awsHttpStatus(error) === 403;
}

/** Classifies an AWS SDK or network error; the first kind that fits, in the order of {@link AwsErrorKind}. */
export function awsErrorKind(error: unknown): AwsErrorKind {
  const code = awsErrorCode(error);
  const status = awsHttpStatus(error);
  if (NETWORK.test(code) || code === "TimeoutError") return "unreachable";
  if (EXPIRED.has(code)) return "expired";
  if (REJECTED.has(code)) return "rejected";
  if (code === "CredentialsProviderError") return "no-credentials";
  if (DENIED.has(code) || status === 403) return "denied";
  if (WRONG_REGION.has(code) || status === 301) return "wrong-region";
  if (NOT_FOUND.has(code) || status === 404) return "not-found";
  return "other";
}

/** True when the object or resource an AWS call named does not exist. */
export function isAwsNotFound(error: unknown): boolean {
  return awsErrorKind(error) === "not-found";
}

/** Replaces every secret value (of four characters or more) in `text` with the mask. */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join(SECRET_MASK);
  return out;
}

/** An AWS error taken apart for a message: its code and kind, its message without secrets, and a plain cause to attach. */
export interface AwsErrorFacts {
  code: string;
  kind: AwsErrorKind;
  /** The error's message, secrets masked. */
  message: string;
  /** `CODE: message`, holding no secret (not even in a cause of its own). */
  cause: Error;
}

/** Takes an AWS SDK or network error apart; `secrets` never appear in what it returns. */
export function awsErrorFacts(error: unknown, secrets: readonly (string | undefined)[] = []): AwsErrorFacts {
  const code = awsErrorCode(error);
  const message = scrubSecrets(String((error as AwsErrorLike | undefined)?.message ?? error), secrets);
  return { code, kind: awsErrorKind(error), message, cause: new Error(`${code}: ${message}`) };
}
