import { checkInt } from './checks';
import { configError } from './errors';

/** The process environment as handlers and the CLI read it. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A required, non-empty variable; a missing one is an `INVALID_CONFIG` error naming it. */
export function requiredEnv(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw configError(name, 'is required and was not set');
  return value;
}

/**
 * An integer variable in [min, max]; `fallback` when unset or empty (Terraform and shells often
 * set '' to mean "not set"). Only plain digits count: "10MB" and "1e6" are refused.
 */
export function intEnv(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const text = raw.trim();
  return checkInt(name, /^-?[0-9]+$/.test(text) ? Number(text) : Number.NaN, min, max, JSON.stringify(raw));
}

/** A boolean variable: true/1 or false/0, any case; `fallback` when unset or empty. */
export function boolEnv(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const text = raw.trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw configError(name, `${JSON.stringify(raw)} is not one of true, false, 1, 0`);
}
