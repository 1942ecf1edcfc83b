/**
 * The `--state` folder holds every object and message of the local cloud (uploads, variants,
 * queue bodies): it is private to the user who runs it, as `~/.ssh` is. The folder is made (or
 * tightened to) 0700 and the stand-in's SQLite database (and its WAL/SHM companions) 0600 before
 * the stand-in opens it; SQLite gives the files it creates later the database's own mode.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Mode of the state folder: owner only. */
export const STATE_DIR_MODE = 0o700;
/** Mode of the files of the state database: owner read/write only. */
export const STATE_FILE_MODE = 0o600;
/** The stand-in's database in the state folder, with the files SQLite keeps beside it in WAL mode. */
export const STATE_DB_FILES = ['fauxqs.db', 'fauxqs.db-wal', 'fauxqs.db-shm'] as const;

/**
 * Creates `dir` (and missing parents) 0700, or tightens an existing folder whose mode lets group
 * or others in; creates the empty database file 0600 when absent (SQLite opens an empty file as a
 * new database) and tightens existing database files. Never loosens anything.
 */
export function prepareStateDir(dir: string): void {
  // mkdirSync's mode is filtered by the umask and applies to the last folder only: chmod after.
  mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
  tighten(dir, STATE_DIR_MODE);
  const db = join(dir, STATE_DB_FILES[0]);
  if (!existsSync(db)) closeSync(openSync(db, 'a', STATE_FILE_MODE));
  for (const name of STATE_DB_FILES) {
    const file = join(dir, name);
    if (existsSync(file)) tighten(file, STATE_FILE_MODE);
  }
}

/** Removes from `path`'s mode every permission `allowed` does not grant. */
function tighten(path: string, allowed: number): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & ~allowed) !== 0) chmodSync(path, mode & allowed);
}
