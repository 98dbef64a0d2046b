// The parts of a τ² task and trajectory the evaluator reads. Structural types, so D-A's full Task
// type (protocols/tau2/task.ts) and the results schema's messages both fit without conversion.
import type {
  Action,
  EnvAssertion,
  EnvFunctionCall,
  Message,
  RewardInfo,
  RewardType,
  TerminationReason,
} from '../../protocols/tau2/results.ts';

export interface EvalCriteria {
  actions?: readonly Action[] | null;
  env_assertions?: readonly EnvAssertion[] | null;
  communicate_info?: readonly string[] | null;
  nl_assertions?: readonly string[] | null;
  /** Absent means the τ-bench default `[DB, COMMUNICATE]`. */
  reward_basis?: readonly RewardType[] | null;
}

export interface EvalInitialState {
  initialization_data?: { agent_data?: Record<string, unknown> | null; user_data?: Record<string, unknown> | null } | null;
  initialization_actions?: readonly EnvFunctionCall[] | null;
  message_history?: readonly Message[] | null;
}

export interface EvalTask {
  id: string;
  initial_state?: EvalInitialState | null;
  evaluation_criteria?: EvalCriteria | null;
}

export interface EvalSimulation {
  task_id: string;
  termination_reason: TerminationReason | string;
  messages: readonly Message[];
}

export const DEFAULT_REWARD_BASIS: readonly RewardType[] = ['DB', 'COMMUNICATE'];

export function rewardBasisOf(criteria: EvalCriteria): readonly RewardType[] {
  return criteria.reward_basis ?? DEFAULT_REWARD_BASIS;
}

/** One evaluator's verdict: its reward and the RewardInfo fields it fills in. */
export type ComponentResult = Pick<RewardInfo, 'reward'> & Partial<RewardInfo>;
