import { configError } from './errors';

/** The process environment as handlers and the CLI read it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A required, non-empty variable; a missing one is an `INVALID_CONFIG` error naming it. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw configError(name, 'is required and was not set');
  return value;
}

/** An integer variable in [min, max]; `fallback` when unset. The error names the range. */
export function intEnv(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw configError(name, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A boolean variable: "true"/"1" or "false"/"0"; anything else is an error. */
export function boolEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw configError(name, `must be "true" or "false", got ${JSON.stringify(raw)}`);
}
