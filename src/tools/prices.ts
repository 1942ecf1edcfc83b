/**
 * The one price table of the cost report (`resize-chain cost`) and of the README's cost figures.
 * AWS list prices for us-east-1 (US East, N. Virginia), on-demand, first pricing tier, no free tier,
 * no Savings Plans. Change prices here only.
 *
 * Sources (each figure below names its page in `source.url`):
 * - AWS Lambda pricing, https://aws.amazon.com/lambda/pricing/ : requests, duration per GB-second
 *   (x86_64 and Arm), provisioned concurrency and the duration of invocations on it.
 * - Amazon SQS pricing, https://aws.amazon.com/sqs/pricing/ : standard-queue requests, 64 KB chunks.
 * - Amazon S3 pricing, https://aws.amazon.com/s3/pricing/ : S3 Standard storage, PUT/COPY/POST/LIST
 *   and GET requests.
 * - INIT billing: https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
 * First read on 2026-11-28 and checked again on 2026-12-06, both times from stored copies of those
 * pages and of pages quoting them (this project's build machines have no internet access). The
 * Lambda page renders its rate tables in the browser, so its stored text holds only the $0.20 per
 * 1M requests of its worked examples: figures marked `confirmedBy: 'third-party'` agree with
 * copies that quote AWS's tables (for example x86 $0.0000166667 and Arm $0.0000133334 per GB-s,
 * SQS $0.40 per 1M, S3 $0.023 per GB-month, $0.005 per 1,000 PUTs, $0.0004 per 1,000 GETs), and
 * `'unconfirmed'` ones were found in no copy: check those on the live pages before relying on them.
 */

/** Where a figure comes from and how well the search confirmed it. */
export interface PriceSource {
  readonly url: string;
  readonly read: string;
  readonly confirmedBy: 'aws' | 'third-party' | 'unconfirmed';
  readonly note?: string;
}

export interface Price {
  /** US dollars per `unit`. */
  readonly usd: number;
  readonly unit: string;
  readonly source: PriceSource;
}

export type LambdaArchitecture = 'x86_64' | 'arm64';

export interface RegionPrices {
  readonly lambda: {
    readonly requests: Price;
    /** On-demand duration, INIT phase included (see `INIT_BILLING`). */
    readonly gbSecond: Record<LambdaArchitecture, Price>;
    /** Provisioned concurrency: charged for every configured GB-second, used or not. */
    readonly provisionedGbSecond: Record<LambdaArchitecture, Price>;
    /** Duration of invocations that run on provisioned environments (replaces `gbSecond` for them). */
    readonly provisionedDurationGbSecond: Record<LambdaArchitecture, Price>;
  };
  readonly sqs: { readonly standardRequests: Price };
  readonly s3: { readonly putRequests: Price; readonly getRequests: Price; readonly standardStorage: Price };
}

const READ = '2026-11-28';
const LAMBDA_PAGE = 'https://aws.amazon.com/lambda/pricing/';
const SQS_PAGE = 'https://aws.amazon.com/sqs/pricing/';
const S3_PAGE = 'https://aws.amazon.com/s3/pricing/';

const lambdaThirdParty = (note: string): PriceSource => ({
  url: LAMBDA_PAGE,
  read: READ,
  confirmedBy: 'third-party',
  note,
});
const lambdaUnconfirmed: PriceSource = {
  url: LAMBDA_PAGE,
  read: READ,
  confirmedBy: 'unconfirmed',
  note:
    'Provisioned-concurrency rates: the stored copies of the pricing page omit the rate ' +
    'table and no other copy states this figure; it is the long-standing us-east-1 list price.',
};

/**
 * How AWS bills the INIT phase. From 2025-08-01 the INIT phase of on-demand invocations is billed
 * for every function configuration; container-image functions (what this project deploys),
 * custom runtimes and provisioned concurrency were billed for INIT before that date too.
 */
export const INIT_BILLING = {
  rule:
    'INIT (cold start) duration is billed like invocation duration, ' +
    'at the function memory and the on-demand GB-second rate. ' +
    'Since 2025-08-01 this applies to every configuration; ' +
    'container-image functions were already billed for INIT before.',
  sources: [
    'https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/',
    'https://worldofsoftware.org/amazon-to-raise-aws-lambda-costs-by-charging-for-cold-starts/amp (quotes the AWS post: INITs typically occur in under 1% of invocations; container images already billed)',
  ],
  read: READ,
} as const;

/** us-east-1 (US East, N. Virginia). */
export const US_EAST_1: RegionPrices = {
  lambda: {
    requests: {
      usd: 0.2 / 1e6,
      unit: 'request',
      source: lambdaThirdParty(
        "$0.20 per 1M requests (both architectures); also in the stored AWS page's worked example.",
      ),
    },
    gbSecond: {
      x86_64: {
        usd: 0.0000166667,
        unit: 'GB-second',
        source: lambdaThirdParty('x86 $0.0000166667 per GB-s, first tier (0-6 billion GB-s/month).'),
      },
      arm64: {
        usd: 0.0000133334,
        unit: 'GB-second',
        source: lambdaThirdParty('Arm $0.0000133334 per GB-s, first tier (0-7.5 billion GB-s/month).'),
      },
    },
    provisionedGbSecond: {
      x86_64: { usd: 0.0000041667, unit: 'GB-second', source: lambdaUnconfirmed },
      arm64: { usd: 0.0000033334, unit: 'GB-second', source: lambdaUnconfirmed },
    },
    provisionedDurationGbSecond: {
      x86_64: {
        usd: 0.0000097222,
        unit: 'GB-second',
        source: lambdaThirdParty(
          'x86 duration on provisioned environments $0.0000097222 per GB-s (one third-party copy).',
        ),
      },
      arm64: { usd: 0.0000077778, unit: 'GB-second', source: lambdaUnconfirmed },
    },
  },
  sqs: {
    standardRequests: {
      usd: 0.4 / 1e6,
      unit: 'request (64 KB chunk)',
      source: {
        url: SQS_PAGE,
        read: READ,
        confirmedBy: 'third-party',
        note:
          '$0.40 per 1M standard-queue requests (first 100 billion/month); ' +
          'every 64 KB chunk of a payload is billed as one request; first 1M requests/month free (ignored here).',
      },
    },
  },
  s3: {
    putRequests: {
      usd: 0.005 / 1000,
      unit: 'request',
      source: {
        url: S3_PAGE,
        read: READ,
        confirmedBy: 'third-party',
        note: 'S3 Standard PUT, COPY, POST, LIST: $0.005 per 1,000.',
      },
    },
    getRequests: {
      usd: 0.0004 / 1000,
      unit: 'request',
      source: {
        url: S3_PAGE,
        read: READ,
        confirmedBy: 'third-party',
        note: 'S3 Standard GET, SELECT and all other requests (HEAD included): $0.0004 per 1,000.',
      },
    },
    standardStorage: {
      usd: 0.023,
      unit: 'GB-month',
      source: {
        url: S3_PAGE,
        read: READ,
        confirmedBy: 'third-party',
        note: 'S3 Standard, first 50 TB/month: $0.023 per GB-month (GB = 2^30 bytes).',
      },
    },
  },
};

/** Regions whose prices this table holds. */
export const PRICES: Readonly<Record<string, RegionPrices>> = { 'us-east-1': US_EAST_1 };
