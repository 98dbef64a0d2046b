// Only a conversation that ended on its own (the user, or a solo agent, said stop) is graded.
// Every limit or failure (max_steps, too_many_errors, errors, timeout) scores 0 without evaluation.
import type { RewardInfo } from '../../protocols/tau2/results.ts';

export const GRADED_TERMINATIONS: ReadonlySet<string> = new Set(['agent_stop', 'user_stop']);

export function isGradedTermination(reason: string): boolean {
  return GRADED_TERMINATIONS.has(reason);
}

/** The RewardInfo of a simulation that was cut off before it ended on its own. */
export function prematureTerminationReward(reason: string): RewardInfo {
  return {
    reward: 0,
    reward_basis: null,
    info: { note: `Simulation terminated prematurely. Termination reason: ${reason}` },
  };
}
