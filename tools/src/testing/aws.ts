/** The secret-key credentials of an aws service connector, and the endpoint it talks to (moto). */
export interface AwsKeys {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  endpoint: string;
}

/** The CLI arguments of `stackyard service-connector register NAME --type aws` with secret-key credentials against `keys.endpoint`. */
export function registerAwsKeysConnector(name: string, keys: AwsKeys): string[] {
  return [
    "service-connector",
    "register",
    name,
    "--type",
    "aws",
    "--auth-method",
    "secret-key",
    `--region=${keys.region}`,
    `--access_key_id=${keys.accessKeyId}`,
    `--secret_access_key=${keys.secretAccessKey}`,
    `--endpoint_url=${keys.endpoint}`,
  ];
}
