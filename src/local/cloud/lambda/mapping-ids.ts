/**
 * Event source mapping UUIDs that outlive a restart. On AWS a mapping keeps its UUID until it is
 * deleted, so scripts save it (`aws lambda update-event-source-mapping --uuid U`). Locally the
 * mappings are created at every start; with a state folder their UUIDs are kept in
 * `<state>/event-source-mappings.json`, keyed by what makes a mapping (its source ARN and its
 * function), so a saved UUID keeps working after `up --state DIR` restarts.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configError } from '../../../core/errors';
import { STATE_DIR_MODE, STATE_FILE_MODE } from '../../state-dir';

/** File name of the kept UUIDs inside the state folder. */
export const MAPPING_IDS_FILE = 'event-source-mappings.json';

/** Gives each mapping (event source ARN + function name) its UUID: the kept one, or a new one. */
export type MappingIds = (eventSourceArn: string, functionName: string) => string;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function readKept(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw configError(
      'stateDir',
      `${file} is not JSON (${(err as Error).message}): repair or delete it (the mappings then get new UUIDs)`,
    );
  }
  const entries =
    parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? Object.entries(parsed as Record<string, unknown>)
      : undefined;
  if (!entries || !entries.every(([, uuid]) => typeof uuid === 'string' && UUID.test(uuid))) {
    throw configError(
      'stateDir',
      `${file} must map "<event source ARN> <function name>" to UUIDs: ` +
        `repair or delete it (the mappings then get new UUIDs)`,
    );
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/**
 * UUIDs kept in `stateDir` (created 0600 beside the rest of the state; written atomically before
 * the UUID is handed out), or fresh random ones when `stateDir` is undefined. Throws INVALID_CONFIG
 * when the file exists but is damaged.
 */
export function mappingIds(stateDir: string | undefined): MappingIds {
  if (stateDir === undefined) return () => randomUUID();
  const file = join(stateDir, MAPPING_IDS_FILE);
  const kept = readKept(file);
  return (eventSourceArn, functionName) => {
    const key = `${eventSourceArn} ${functionName}`;
    const known = kept[key];
    if (known) return known;
    const uuid = randomUUID();
    kept[key] = uuid;
    mkdirSync(stateDir, { recursive: true, mode: STATE_DIR_MODE });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(kept, null, 2)}\n`, { mode: STATE_FILE_MODE });
    renameSync(`${file}.tmp`, file);
    return uuid;
  };
}
