import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { environmentRegion } from "@stackyard/aws-common";
import { type AutoConfigureOptions, ConfigError, parseConfig } from "@stackyard/core";
import { type AwsAuthMethod, type AwsConnectorConfig, awsConnectorConfigSchema } from "./config.js";

/** Options of {@link autoConfigureAws}. */
export interface AwsAutoConfigureOptions extends AutoConfigureOptions {
  /**
   * Auth method to configure; default `implicit`, which stores no secret
   * (credentials keep coming from the environment when the connector is used).
   * `secret-key` and `sts-token` copy the environment's keys into the connector.
   */
  authMethod?: AwsAuthMethod;
}

/** The `region` of a profile in an AWS config file (`[default]` or `[profile NAME]`). */
function profileRegion(file: string, profile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const wanted = profile === "default" ? ["default", "profile default"] : [`profile ${profile}`, profile];
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const section = /^\[(.+)\]$/.exec(line);
    if (section) inSection = wanted.includes(section[1]!.trim());
    else if (inSection) {
      const pair = /^region\s*=\s*(\S+)$/.exec(line);
      if (pair) return pair[1];
    }
  }
  return undefined;
}

/**
 * What `stackyard service-connector register NAME --type aws --auto-configure`
 * stores: the region and profile of the environment, and secrets only when
 * the chosen auth method cannot work without them.
 */
export async function autoConfigureAws(options: AwsAutoConfigureOptions = {}): Promise<AwsConnectorConfig> {
  const env = options.env ?? process.env;
  const method = options.authMethod ?? "implicit";
  const profile = env.AWS_PROFILE ?? env.AWS_DEFAULT_PROFILE;
  const configFile = env.AWS_CONFIG_FILE ?? join(homedir(), ".aws", "config");
  const region = environmentRegion(env) ?? profileRegion(configFile, profile ?? "default");
  if (!region) {
    throw new ConfigError("Cannot auto-configure the AWS connector: no region found in AWS_REGION, AWS_DEFAULT_REGION or " + configFile, {
      hint: "Set AWS_REGION (or a region in your AWS profile), or pass --region=<REGION>.",
    });
  }
  const config: Record<string, unknown> = { auth_method: method, region };
  const endpoint = env.AWS_ENDPOINT_URL;
  if (endpoint) config.endpoint_url = endpoint;
  if (method === "implicit") {
    if (profile) config.profile = profile;
  } else if (method === "secret-key" || method === "sts-token" || method === "session-token") {
    if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
      throw new ConfigError(
        `Cannot auto-configure the AWS connector with auth method '${method}': AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set`,
        {
          hint: "Export them, or auto-configure with the implicit method (the default), which reads them when the connector is used.",
        },
      );
    }
    config.access_key_id = env.AWS_ACCESS_KEY_ID;
    config.secret_access_key = env.AWS_SECRET_ACCESS_KEY;
    if (method === "sts-token") {
      if (!env.AWS_SESSION_TOKEN) {
        throw new ConfigError("Cannot auto-configure the AWS connector with auth method 'sts-token': AWS_SESSION_TOKEN is not set", {
          hint: "Export the session token of your temporary credentials, or use --auth-method secret-key for long-term keys.",
        });
      }
      config.session_token = env.AWS_SESSION_TOKEN;
    }
  } else {
    throw new ConfigError(`Cannot auto-configure the AWS connector with auth method '${method}': it needs a role ARN the environment does not hold`, {
      hint: "Register it explicitly: --auth-method iam-role --role_arn=<ROLE_ARN> --region=<REGION>.",
    });
  }
  return parseConfig(awsConnectorConfigSchema, config, "service connector (flavor aws, auto-configured)");
}
