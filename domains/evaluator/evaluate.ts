// The whole grade of one simulation: termination gate, then the environment, action, communicate
// and (when the task's basis asks for it) NL-assertion components; the reward is the product of
// the components named in the task's reward basis.
import type { Message, RewardInfo, RewardType, ToolType } from '../../protocols/tau2/results.ts';
import { evaluateActions } from './action-check.ts';
import { evaluateCommunicate } from './communicate-check.ts';
import type { Environment } from '../core/environment.ts';
import { evaluateEnvironment, type EnvFactory } from './env-check.ts';
import { evaluateNlAssertions, type NlJudge } from './nl-judge.ts';
import { isGradedTermination, prematureTerminationReward } from './termination.ts';
import { rewardBasisOf, type ComponentResult, type EvalSimulation, type EvalTask } from './types.ts';

export interface EvaluateOptions {
  judge?: NlJudge;
  /** `strict` for live runs, `lenient` for re-grading stored trajectories. */
  mode?: 'strict' | 'lenient';
  /** `all_with_nl_assertions` runs the judge even when NL_ASSERTION is not in the basis. */
  evaluationType?: 'all' | 'all_with_nl_assertions';
  soloMode?: boolean;
}

/** A task's reward basis names a component that was not evaluated: a task/config error, not a grade. */
export class EvaluationCriteriaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvaluationCriteriaError';
  }
}

const ENV_BASES: RewardType[] = ['DB', 'ENV_ASSERTION'];

/** Tool name → tool type over both toolkits of a fresh environment (for action check labels). */
export function toolTypesOf(env: Environment): Map<string, ToolType> {
  const out = new Map<string, ToolType>();
  for (const kit of [env.tools, env.userTools]) for (const tl of kit?.tools ?? []) out.set(tl.name, tl.type);
  return out;
}

export async function evaluateSimulation(
  sim: EvalSimulation,
  task: EvalTask,
  makeEnv: EnvFactory,
  opts: EvaluateOptions = {},
): Promise<RewardInfo> {
  if (!isGradedTermination(sim.termination_reason)) return prematureTerminationReward(sim.termination_reason);
  const criteria = task.evaluation_criteria;
  if (!criteria) return { reward: 1, reward_basis: null, info: { note: 'No evaluation criteria' } };

  const messages: readonly Message[] = sim.messages;
  const basis = rewardBasisOf(criteria);
  const env = evaluateEnvironment(makeEnv, task, messages, { mode: opts.mode, soloMode: opts.soloMode });
  const action = evaluateActions(task, messages, toolTypesOf(env.env ?? makeEnv()));
  const communicate = evaluateCommunicate(task, messages);
  let nl: ComponentResult | null = null;
  if (opts.evaluationType === 'all_with_nl_assertions' || basis.includes('NL_ASSERTION')) {
    nl = await evaluateNlAssertions(task, messages, opts.judge);
  }

  const evaluated = new Set<RewardType>([...ENV_BASES, 'ACTION', 'COMMUNICATE', ...(nl ? (['NL_ASSERTION'] as const) : [])]);
  const missing = basis.filter((b) => !evaluated.has(b));
  if (missing.length) {
    throw new EvaluationCriteriaError(`Task ${task.id} reward_basis includes ${missing.join(', ')} but these were not evaluated`);
  }

  let reward = 1;
  const { env: _predicted, ...envPart } = env;
  const breakdown: Partial<Record<RewardType, number>> = {};
  const fold = (part: ComponentResult | null, bases: RewardType[]) => {
    if (!part || !bases.some((b) => basis.includes(b))) return;
    Object.assign(breakdown, part.reward_breakdown ?? {});
    reward *= part.reward;
  };
  fold(envPart, ENV_BASES);
  fold(action, ['ACTION']);
  fold(nl, ['NL_ASSERTION']);
  fold(communicate, ['COMMUNICATE']);

  return {
    reward,
    db_check: env.db_check ?? null,
    env_assertions: env.env_assertions ?? null,
    action_checks: action.action_checks ?? null,
    nl_assertions: nl ? (nl.nl_assertions ?? null) : null,
    communicate_checks: communicate.communicate_checks ?? null,
    reward_basis: [...basis],
    reward_breakdown: breakdown,
    info: {
      env: env.info ?? null,
      nl: nl ? (nl.info ?? null) : null,
      communicate: communicate.info ?? null,
      action: action.info ?? null,
    },
  };
}
