import { awsErrorFacts, awsRedirectRegion } from "@stackyard/aws-common";
import { AuthenticationError, ConfigError, type StackyardError } from "@stackyard/core";

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

/**
 * Turns an AWS SDK or network error into a Stackyard error that names the
 * connector, the resource and the fix, and holds no secret (not even in its cause).
 */
export function explainAwsError(error: unknown, ctx: AwsCallContext): StackyardError {
  const { code, kind, message: raw, cause } = awsErrorFacts(error, ctx.secrets);
  const where = `${ctx.connector} (${ctx.authMethod}) could not ${ctx.action}${ctx.resource ? ` for ${ctx.resource}` : ""}`;
  const verify = `then run \`stackyard service-connector verify ${ctx.name}\``;
  switch (kind) {
    case "unreachable": {
      const endpoint = ctx.endpoint ?? `the AWS endpoint of region ${ctx.region ?? "(default)"}`;
      return new AuthenticationError(`${where}: ${endpoint} is unreachable (${code})`, {
        hint: ctx.endpoint
          ? `Check that the service at ${ctx.endpoint} is running, or fix endpoint_url with \`stackyard service-connector update ${ctx.name} --endpoint_url=<URL>\`; ${verify}.`
          : `Check your network connection and the region; ${verify}.`,
        cause,
      });
    }
    case "expired":
      return new AuthenticationError(`${where}: the credentials have expired (${code})`, {
        hint:
          ctx.authMethod === "auth method sts-token"
            ? `Temporary STS tokens do not renew: register fresh ones with \`stackyard service-connector update ${ctx.name} --session_token=...\`, or use --auth-method session-token or iam-role, which refresh by themselves; ${verify}.`
            : `Renew the credentials of your environment or profile (e.g. \`aws sso login\`); ${verify}.`,
        cause,
      });
    case "rejected":
      return new AuthenticationError(`${where}: AWS rejected the credentials (${code})`, {
        hint: `Check access_key_id and secret_access_key (\`stackyard service-connector update ${ctx.name} --access_key_id=... --secret_access_key=...\`); ${verify}.`,
        cause,
      });
    case "denied":
      return new AuthenticationError(`${where}: access denied (${code})`, {
        hint: `Grant the connector's identity the permission for this call (see the IAM policies in the README); ${verify}.`,
        cause,
      });
    case "wrong-region": {
      const actual = awsRedirectRegion(error);
      return new ConfigError(
        `${where}: the resource is in ${actual ? `region ${actual}` : "another region"}, not ${ctx.region ?? "the configured region"} (${code})`,
        {
          hint: `Use a connector for ${actual ?? "the resource's region"} (\`stackyard service-connector update ${ctx.name} --region=${actual ?? "<REGION>"}\`); ${verify}.`,
          cause,
        },
      );
    }
    case "no-credentials":
      return new AuthenticationError(`${where}: no AWS credentials found in the environment`, {
        hint: "Export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, set AWS_PROFILE to a configured profile, or register the connector with --auth-method secret-key.",
        cause,
      });
    default:
      return new AuthenticationError(`${where}: ${code}: ${raw}`, { hint: `Check the connector's configuration; ${verify}.`, cause });
  }
}
