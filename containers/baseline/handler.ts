/** Returns its event: the smallest handler aws-lambda-ric can run, to time the runtime alone. */
export async function handler(event: unknown): Promise<unknown> {
  return event;
}
