// Entry of the image's own Runtime Interface Emulator (/var/runtime/emulator.mjs): see
// src/local/cloud/lambda/emulator.ts.
import { emulatorMain } from '../../src/local/cloud/lambda/emulator';

emulatorMain().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${JSON.stringify({ level: 'error', code: 'EMULATOR_FAILED', message })}\n`);
    process.exit(1);
  },
);
