/**
 * A progress line on stderr: redrawn in place on a terminal; elsewhere (CI logs) printed when the
 * count changes or every 10 s, so the output stays readable in both.
 */
export class ProgressBar {
  private lastPrint = 0;
  private lastDone = -1;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, detail = ''): void {
    const now = Date.now();
    if (!this.tty && done === this.lastDone && now - this.lastPrint < 10_000) return;
    this.lastPrint = now;
    this.lastDone = done;
    const width = 30;
    const filled = this.total === 0 ? width : Math.round((done / this.total) * width);
    const line = `${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${this.total} ${detail}`;
    this.stream.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(): void {
    if (this.tty) this.stream.write('\n');
  }
}
