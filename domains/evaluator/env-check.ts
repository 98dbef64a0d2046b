// DB and ENV_ASSERTION components. The predicted environment is a fresh one brought to the end of
// the simulated trajectory by replaying its state-changing calls; the gold environment is a fresh
// one on which every reference action was applied. The DB check compares their hashes; env
// assertions run on the predicted environment.
import type { DBCheck, EnvAssertionCheck, Message } from '../../protocols/tau2/results.ts';
import type { Environment, HistoryMessage, EnvFunctionCallIn, InitializationDataIn } from '../core/environment.ts';
import { sameDump } from './same-dump.ts';
import { rewardBasisOf, type ComponentResult, type EvalTask } from './types.ts';

/** Builds a fresh environment of the task's domain. */
export type EnvFactory = (opts?: { solo?: boolean }) => Environment;

export interface EnvCheckOptions {
  /**
   * `strict` (live evaluation): a replayed write whose output differs from the recorded tool
   * message throws, and the simulation should be re-run. `lenient` (re-grading stored
   * trajectories): the difference is counted in `info` and replay goes on.
   */
  mode?: 'strict' | 'lenient';
  soloMode?: boolean;
}

export interface EnvCheckResult extends ComponentResult {
  /** The predicted environment, when one was built (tool types are read from it). */
  env?: Environment;
}

export function evaluateEnvironment(
  makeEnv: EnvFactory,
  task: EvalTask,
  messages: readonly Message[],
  opts: EnvCheckOptions = {},
): EnvCheckResult {
  const criteria = task.evaluation_criteria;
  if (!criteria) return { reward: 1, info: { note: 'No evaluation criteria' } };
  if (criteria.actions == null && criteria.env_assertions == null) {
    return {
      reward: 1,
      db_check: { db_match: true, db_reward: 1 },
      info: { note: 'No expected actions or env assertions' },
    };
  }
  const strict = (opts.mode ?? 'strict') === 'strict';
  const init = task.initial_state ?? {};
  const initData = (init.initialization_data ?? null) as InitializationDataIn | null;
  const initActions = (init.initialization_actions ?? null) as EnvFunctionCallIn[] | null;

  const predicted = makeEnv({ solo: opts.soloMode ?? false });
  const mismatches = predicted.setState(initData, initActions, messages as unknown as HistoryMessage[], { strict });

  const gold = makeEnv();
  gold.setState(initData, initActions, (init.message_history ?? []) as unknown as HistoryMessage[], { strict });
  for (const action of criteria.actions ?? []) {
    // Every reference action runs, reads included, without sync; a failing one is ignored.
    try {
      gold.makeToolCall(action.name, action.requestor ?? 'assistant', action.arguments ?? {});
    } catch {
      /* the reference logs and moves on */
    }
  }

  // Same verdict as comparing the two sha256 hashes of each DB, without serialising them.
  const dbMatch = sameDump(gold.tools?.db.data ?? null, predicted.tools?.db.data ?? null) &&
    sameDump(gold.userTools?.db.data ?? null, predicted.userTools?.db.data ?? null);
  const dbCheck: DBCheck = { db_match: dbMatch, db_reward: dbMatch ? 1 : 0 };

  const assertionChecks: EnvAssertionCheck[] = [];
  let assertionReward = 1;
  for (const a of criteria.env_assertions ?? []) {
    const met = predicted.runEnvAssertion(a);
    assertionChecks.push({ env_assertion: a, met, reward: met ? 1 : 0 });
    if (!met) assertionReward = 0;
  }

  const basis = rewardBasisOf(criteria);
  let reward = 1;
  const breakdown: Partial<Record<'DB' | 'ENV_ASSERTION', number>> = {};
  if (basis.includes('DB')) {
    breakdown.DB = dbCheck.db_reward;
    reward *= dbCheck.db_reward;
  }
  if (basis.includes('ENV_ASSERTION')) {
    breakdown.ENV_ASSERTION = assertionReward;
    reward *= assertionReward;
  }
  return {
    reward,
    db_check: dbCheck,
    env_assertions: assertionChecks,
    reward_basis: [...basis],
    reward_breakdown: breakdown,
    env: predicted,
    info: mismatches.length ? { replay_mismatches: mismatches.length, replay_mismatch_tools: mismatches.map((m) => m.call.name) } : null,
  };
}
