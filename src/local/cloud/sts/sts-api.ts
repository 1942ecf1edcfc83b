/**
 * STS for the local cloud: GetCallerIdentity, which the AWS provider and `aws sts
 * get-caller-identity` ask for the account id. The local credentials stand for the account's root
 * user, as a root key pair does on AWS. Other actions answer InvalidAction.
 */
import type { QueryService } from '../query-protocol';

export const STS_XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** The STS service of the local cloud for `accountId`. @param partition @default 'aws' */
export function stsService(accountId: string, partition = 'aws'): QueryService {
  return {
    xmlns: STS_XMLNS,
    operations: {
      GetCallerIdentity: () => ({
        UserId: accountId,
        Account: accountId,
        Arn: `arn:${partition}:iam::${accountId}:root`,
      }),
    },
  };
}
