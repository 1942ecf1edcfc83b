/**
 * An event source mapping that can be disabled and enabled again, as Lambda's
 * UpdateEventSourceMapping `Enabled` does: disabling stops polling, releases gathered messages and
 * waits for batches in flight; enabling starts polling again with the same settings. Messages wait
 * in the queue meanwhile, so a person (or the AWS CLI) can read them.
 */
import { randomUUID } from 'node:crypto';
import {
  emptyMappingStats,
  startEventSourceMapping,
  type EventSourceMapping,
  type EventSourceMappingOptions,
} from './event-source-mapping';
import { mappingSwitch, type MappingState } from './mapping-enabled-state';

export type { MappingState } from './mapping-enabled-state';

export interface SwitchableMapping extends EventSourceMapping {
  /** Stable for the life of the mapping, like Lambda's UUID. */
  readonly uuid: string;
  /** Function the mapping invokes (its name). */
  readonly functionName: string;
  readonly options: Readonly<EventSourceMappingOptions>;
  state(): MappingState;
  /** When the mapping was created or last enabled/disabled. */
  lastModified(): Date;
  /**
   * Enables or disables polling; resolves once the change is complete (disabling waits for batches
   * in flight). Throws after stop().
   */
  setEnabled(enabled: boolean): Promise<void>;
}

/**
 * Starts a mapping that polls at once unless `enabled` is false. Defaults: those of
 * startEventSourceMapping; `enabled` true; uuid random.
 */
export function startSwitchableMapping(
  opts: EventSourceMappingOptions & { functionName: string; enabled?: boolean; uuid?: string },
): SwitchableMapping {
  const { functionName, enabled = true, uuid = randomUUID(), ...mappingOptions } = opts;
  const mapping = mappingSwitch({
    name: uuid,
    enabled,
    start: () => startEventSourceMapping(mappingOptions),
    emptyStats: emptyMappingStats,
  });
  return {
    uuid,
    functionName,
    options: mappingOptions,
    state: mapping.state,
    lastModified: mapping.lastModified,
    setEnabled: mapping.setEnabled,
    stop: mapping.stop,
    stats: mapping.stats,
    idle: () => mapping.current()?.idle() ?? true,
  };
}
