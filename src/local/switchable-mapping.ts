/**
 * An event source mapping that can be disabled and enabled again, as Lambda's
 * UpdateEventSourceMapping `Enabled` does: disabling stops polling, releases gathered messages and
 * waits for batches in flight; enabling starts polling again with the same settings. Messages wait
 * in the queue meanwhile, so a person (or the AWS CLI) can read them.
 */
import { randomUUID } from 'node:crypto';
import { emptyMappingStats, startEventSourceMapping, type EventSourceMapping, type EventSourceMappingOptions, type EventSourceMappingStats } from './event-source-mapping';

/** Lambda's names for a mapping's states (the transitional ones while stopping or starting). */
export type MappingState = 'Enabled' | 'Disabled' | 'Enabling' | 'Disabling';

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

function addStats(a: EventSourceMappingStats, b: EventSourceMappingStats): EventSourceMappingStats {
  const sum = { ...a };
  for (const key of Object.keys(sum) as (keyof EventSourceMappingStats)[]) sum[key] += b[key];
  return sum;
}

/**
 * Starts a mapping that polls at once unless `enabled` is false. Defaults: those of
 * startEventSourceMapping; `enabled` true; uuid random.
 */
export function startSwitchableMapping(
  opts: EventSourceMappingOptions & { functionName: string; enabled?: boolean; uuid?: string },
): SwitchableMapping {
  const { functionName, enabled = true, uuid = randomUUID(), ...mappingOptions } = opts;
  let current: EventSourceMapping | undefined = enabled ? startEventSourceMapping(mappingOptions) : undefined;
  let state: MappingState = enabled ? 'Enabled' : 'Disabled';
  let modified = new Date();
  /** Totals of the pollers that ran before the current one. */
  let previous: EventSourceMappingStats = emptyMappingStats();
  let stopped = false;
  // Changes run one after another; stop() waits for the one under way.
  let chain: Promise<void> = Promise.resolve();

  const disable = async (): Promise<void> => {
    const running = current;
    if (!running) return;
    state = 'Disabling';
    await running.stop();
    previous = addStats(previous, running.stats());
    current = undefined;
  };

  return {
    uuid,
    functionName,
    options: mappingOptions,
    state: () => state,
    lastModified: () => modified,
    setEnabled(on) {
      if (stopped) return Promise.reject(new Error(`event source mapping ${uuid} is stopped`));
      const change = chain.then(async () => {
        if (stopped) return;
        if (on && !current) {
          state = 'Enabling';
          current = startEventSourceMapping(mappingOptions);
          state = 'Enabled';
        } else if (!on && current) {
          await disable();
          state = 'Disabled';
        }
        modified = new Date();
      });
      chain = change.catch(() => undefined);
      return change;
    },
    stop() {
      stopped = true;
      chain = chain.then(disable).then(() => {
        state = 'Disabled';
      });
      return chain;
    },
    stats: () => (current ? addStats(previous, current.stats()) : { ...previous }),
    idle: () => (current ? current.idle() : true),
  };
}
