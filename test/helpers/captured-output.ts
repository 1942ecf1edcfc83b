/**
 * Captures the JSON lines code under test writes to process.stdout and process.stderr (instead of printing them),
 * in write order, until `jest.restoreAllMocks()`.
 */
export function captureJsonLines(): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const keep = (chunk: string | Uint8Array): boolean => {
    for (const line of String(chunk).split('\n').filter(Boolean))
      lines.push(JSON.parse(line) as Record<string, unknown>);
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(keep);
  jest.spyOn(process.stderr, 'write').mockImplementation(keep);
  return lines;
}
