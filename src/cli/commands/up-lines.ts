// The lines of up's banner that point clients at the endpoint: shared by the chain's banner and --bare's.
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/client-config';
import { LOCAL_ENDPOINT_ENV, TF_OVERRIDE_FILE } from '../../local/terraform-provider';

/**
 * The banner's environment block for AWS clients against the TLS endpoint `e`, whose certificate the
 * local CA at `caPath` signed; `plain` is the same port's plain-HTTP URL.
 */
export function clientEnvLines(e: string, caPath: string, plain: string): string[] {
  return [
    '# environment for AWS clients (SDKs, AWS CLI >= 2.13 / 1.29; older CLIs need --endpoint-url):',
    `# (TLS with the local CA; Node needs NODE_EXTRA_CA_CERTS=${caPath}; plain HTTP on ${plain})`,
    `export AWS_ENDPOINT_URL=${e}`,
    `export AWS_CA_BUNDLE=${caPath}`,
    `export AWS_REGION=${LOCAL_REGION} AWS_DEFAULT_REGION=${LOCAL_REGION}`,
    `export AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId} ` +
      `AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
    'unset AWS_SESSION_TOKEN AWS_PROFILE',
  ];
}

/** The banner's lines pointing Terraform and CDKTF at endpoint `e`. */
export function terraformLines(e: string): string[] {
  return [
    '# Terraform / CDKTF against this endpoint (see the README, Deploying to the local cloud):',
    `resize-chain tf-override --endpoint ${e} --dir <your terraform folder>   # writes ${TF_OVERRIDE_FILE}`,
    `export ${LOCAL_ENDPOINT_ENV}=${e}   # then npx cdktf deploy`,
  ];
}
