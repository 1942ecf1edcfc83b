import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PipelineError } from '../core/errors';
import { classifyAwsError } from './errors';

let client: SecretsManagerClient | undefined;

/**
 * Reads a secret's string value from Secrets Manager. Used for the webhook signing secret so the
 * value never appears in the function's configuration or the synthesized Terraform.
 */
export async function getSecretString(secretId: string): Promise<string> {
  client ??= new SecretsManagerClient({});
  try {
    const res = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!res.SecretString)
      throw new PipelineError('INVALID_CONFIG', `secret ${secretId} has no string value`, {
        field: 'WEBHOOK_SECRET_ARN',
      });
    return res.SecretString;
  } catch (err) {
    if (err instanceof PipelineError) throw err;
    throw classifyAwsError('SecretsManager', err, { field: 'WEBHOOK_SECRET_ARN' });
  }
}
