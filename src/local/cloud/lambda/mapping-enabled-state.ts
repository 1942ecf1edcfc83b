/**
 * The enable/disable life of an event source mapping, as Lambda's UpdateEventSourceMapping
 * `Enabled` drives it, shared by the queue mappings (queue-mapping-control.ts) and the stream mapping
 * (stream-mapping-control.ts): disabling stops the running poller and waits for its batches in
 * flight; enabling starts a new one with the same settings; changes run one after another, and
 * the counters add up across every poller the mapping has run.
 */

/** Lambda's names for a mapping's states (the transitional ones while stopping or starting). */
export type MappingState = 'Enabled' | 'Disabled' | 'Enabling' | 'Disabling';

/** What a poller offers the switch: a way to stop, and counters. */
export interface Poller<S extends Record<keyof S, number>> {
  stop(): Promise<void>;
  stats(): S;
}

export interface MappingSwitch<P extends Poller<S>, S extends Record<keyof S, number>> {
  /** The running poller, or undefined while disabled. */
  current(): P | undefined;
  state(): MappingState;
  /** When the mapping was created or last enabled/disabled. */
  lastModified(): Date;
  /** Resolves once the change is complete (disabling waits for batches in flight). Throws after stop(). */
  setEnabled(enabled: boolean): Promise<void>;
  /** Disables for good, after the change under way. */
  stop(): Promise<void>;
  /** Totals of every poller run so far, the current one included. */
  stats(): S;
}

/**
 * Creates the switch, starting a poller at once when `enabled`.
 * @param name names the mapping in the error setEnabled() throws after stop()
 */
export function mappingSwitch<P extends Poller<S>, S extends Record<keyof S, number>>(opts: {
  name: string;
  enabled: boolean;
  start: () => P;
  emptyStats: () => S;
}): MappingSwitch<P, S> {
  let current: P | undefined = opts.enabled ? opts.start() : undefined;
  let state: MappingState = opts.enabled ? 'Enabled' : 'Disabled';
  let modified = new Date();
  /** Totals of the pollers that ran before the current one. */
  let previous = opts.emptyStats();
  let stopped = false;
  // Changes run one after another; stop() waits for the one under way.
  let chain: Promise<void> = Promise.resolve();

  const addStats = (a: S, b: S): S => {
    const sum = { ...a };
    for (const key of Object.keys(sum) as (keyof S)[]) (sum[key] as number) = a[key] + b[key];
    return sum;
  };
  const disable = async (): Promise<void> => {
    const running = current;
    if (!running) return;
    state = 'Disabling';
    await running.stop();
    previous = addStats(previous, running.stats());
    current = undefined;
  };

  return {
    current: () => current,
    state: () => state,
    lastModified: () => modified,
    setEnabled(on) {
      if (stopped) return Promise.reject(new Error(`event source mapping ${opts.name} is stopped`));
      const change = chain.then(async () => {
        if (stopped) return;
        if (on && !current) {
          state = 'Enabling';
          current = opts.start();
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
  };
}
