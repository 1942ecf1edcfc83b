/** Every command's option table (declared in its file under commands/), in the order the help lists them. */
import { COST_USAGE } from './commands/cost';
import { DEPLOY_LOCAL_USAGE } from './commands/deploy-local';
import { EVENT_USAGE } from './commands/event';
import { INVOKE_USAGE } from './commands/invoke';
import { RESIZE_USAGE } from './commands/resize';
import { START_USAGE } from './commands/start';
import { TF_OVERRIDE_USAGE } from './commands/tf-override';
import { UP_USAGE } from './commands/up';
import type { CommandUsage } from './usage';

export const COMMAND_USAGES: readonly CommandUsage[] = [
  START_USAGE,
  UP_USAGE,
  TF_OVERRIDE_USAGE,
  DEPLOY_LOCAL_USAGE,
  INVOKE_USAGE,
  RESIZE_USAGE,
  EVENT_USAGE,
  COST_USAGE,
];
