import { AuthenticationError, ConfigError, SECRET_MASK, type StackyardError } from "@stackyard/core";

/** Where an AWS call failed, for the message a user reads. */
export interface AwsCallContext {
  /** `service connector 'aws_prod' (flavor aws)`. */
  connector: string;
  /** `auth method secret-key`. */
  authMethod: string;
  /** What was being done, e.g. `verify credentials with STS GetCallerIdentity`. */
  action: string;
  /** The resource, e.g. `s3://my-bucket`; omitted for account-wide calls. */
  resource?: string;
  /** The endpoint the call went to, when not AWS's own. */
  endpoint?: string;
  /** The connector's region. */
  region?: string;
  /** The connector name for commands in hints. */
  name: string;
  /** Secret values that must never appear in the message. */
  secrets: readonly string[];
}

const BAD_CREDENTIALS = new Set([
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "UnrecognizedClientException",
  "AuthFailure",
  "InvalidToken",
  "IncompleteSignature",
  "InvalidSignatureException",
]);
const EXPIRED = new Set(["ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"]);
const DENIED = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "AllAccessDisabled"]);
const WRONG_REGION = new Set(["PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"]);
const NETWORK = new Set(["ECONNREFUSED", "ENOTFOUND", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "EPIPE"]);

interface ErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string> };
}

/** The AWS error code, or the socket error code, of `error`. */
export function awsErrorCode(error: unknown): string {
  const e = (error ?? {}) as ErrorLike;
  if (e.code && NETWORK.has(e.code)) return e.code;
  for (const inner of [...(e.errors ?? []), e.cause]) {
    const code = (inner as ErrorLike | undefined)?.code;
    if (code && NETWORK.has(code)) return code;
  }
  return e.Code ?? e.name ?? e.code ?? "Error";
}

/** Replaces every secret value in `text` with the mask. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(SECRET_MASK);
  return out;
}

/**
 * Turns an AWS SDK or network error into a Stackyard error that names the
 * connector, the resource and the fix, and holds no secret (not even in its cause).
 */
export function explainAwsError(error: unknown, ctx: AwsCallContext): StackyardError {
  const code = awsErrorCode(error);
  const raw = scrub(String((error as ErrorLike | undefined)?.message ?? error), ctx.secrets);
  const cause = new Error(`${code}: ${raw}`);
  const where = `${ctx.connector} (${ctx.authMethod}) could not ${ctx.action}${ctx.resource ? ` for ${ctx.resource}` : ""}`;
  const verify = `then run \`stackyard service-connector verify ${ctx.name}\``;
  if (NETWORK.has(code) || code === "TimeoutError") {
    const endpoint = ctx.endpoint ?? `the AWS endpoint of region ${ctx.region ?? "(default)"}`;
    return new AuthenticationError(`${where}: ${endpoint} is unreachable (${code})`, {
      hint: ctx.endpoint
        ? `Check that the service at ${ctx.endpoint} is running, or fix endpoint_url with \`stackyard service-connector update ${ctx.name} --endpoint_url=<URL>\`; ${verify}.`
        : `Check your network connection and the region; ${verify}.`,
      cause,
    });
  }
  if (EXPIRED.has(code)) {
    return new AuthenticationError(`${where}: the credentials have expired (${code})`, {
      hint:
        ctx.authMethod === "auth method sts-token"
          ? `Temporary STS tokens do not renew: register fresh ones with \`stackyard service-connector update ${ctx.name} --session_token=...\`, or use --auth-method session-token or iam-role, which refresh by themselves; ${verify}.`
          : `Renew the credentials of your environment or profile (e.g. \`aws sso login\`); ${verify}.`,
      cause,
    });
  }
  if (BAD_CREDENTIALS.has(code)) {
    return new AuthenticationError(`${where}: AWS rejected the credentials (${code})`, {
      hint: `Check access_key_id and secret_access_key (\`stackyard service-connector update ${ctx.name} --access_key_id=... --secret_access_key=...\`); ${verify}.`,
      cause,
    });
  }
  if (DENIED.has(code) || (error as ErrorLike | undefined)?.$metadata?.httpStatusCode === 403) {
    return new AuthenticationError(`${where}: access denied (${code})`, {
      hint: `Grant the connector's identity the permission for this call (see the IAM policies in the README); ${verify}.`,
      cause,
    });
  }
  const redirected = (error as ErrorLike | undefined)?.$metadata?.httpStatusCode === 301;
  if (WRONG_REGION.has(code) || redirected) {
    const actual = (error as ErrorLike | undefined)?.$response?.headers?.["x-amz-bucket-region"];
    return new ConfigError(
      `${where}: the resource is in ${actual ? `region ${actual}` : "another region"}, not ${ctx.region ?? "the configured region"} (${code})`,
      {
        hint: `Use a connector for ${actual ?? "the resource's region"} (\`stackyard service-connector update ${ctx.name} --region=${actual ?? "<REGION>"}\`); ${verify}.`,
        cause,
      },
    );
  }
  if (code === "CredentialsProviderError") {
    return new AuthenticationError(`${where}: no AWS credentials found in the environment`, {
      hint: "Export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, set AWS_PROFILE to a configured profile, or register the connector with --auth-method secret-key.",
      cause,
    });
  }
  return new AuthenticationError(`${where}: ${code}: ${raw}`, { hint: `Check the connector's configuration; ${verify}.`, cause });
}
