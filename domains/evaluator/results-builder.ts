// Building a τ² results file from Troupe runs: the run `info` block with τ²'s defaults, and one
// `SimulationRun` per finished conversation. Write the result with `writeResultsFile`.
import { randomUUID } from 'node:crypto';
import type { Info, Message, Results, RewardInfo, SimulationRun, TerminationReason } from '../../protocols/tau2/results.ts';

export interface RunInfoOptions {
  domain: string;
  policy: string;
  agentModel: string;
  userModel: string;
  agentLlmArgs?: Record<string, unknown>;
  userLlmArgs?: Record<string, unknown>;
  /** The user simulator's guideline prompt, recorded as τ² does. */
  userGuidelines?: string | null;
  numTrials?: number;
  maxSteps?: number;
  maxErrors?: number;
  seed?: number;
  gitCommit?: string;
  agentImplementation?: string;
  userImplementation?: string;
}

/** τ²'s `Info` block; defaults are τ²'s CLI defaults (200 steps, 10 errors, seed 300). */
export function runInfo(o: RunInfoOptions): Info {
  return {
    git_commit: o.gitCommit ?? '',
    num_trials: o.numTrials ?? 1,
    max_steps: o.maxSteps ?? 200,
    max_errors: o.maxErrors ?? 10,
    user_info: {
      implementation: o.userImplementation ?? 'user_simulator',
      llm: o.userModel,
      llm_args: o.userLlmArgs ?? {},
      global_simulation_guidelines: o.userGuidelines ?? null,
    },
    agent_info: { implementation: o.agentImplementation ?? 'llm_agent', llm: o.agentModel, llm_args: o.agentLlmArgs ?? {} },
    environment_info: { domain_name: o.domain, policy: o.policy, tool_defs: null },
    seed: o.seed ?? 300,
    text_streaming_config: null,
  };
}

/** Python's `datetime.now().isoformat()` text (local time, microseconds, no zone). */
export function isoNow(d = new Date()): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}000`;
}

export interface SimulationOptions {
  taskId: string;
  messages: Message[];
  terminationReason: TerminationReason;
  start: Date;
  end: Date;
  trial?: number;
  seed?: number | null;
  agentCost?: number | null;
  userCost?: number | null;
  rewardInfo?: RewardInfo | null;
  id?: string;
}

export function simulationRun(o: SimulationOptions): SimulationRun {
  return {
    id: o.id ?? randomUUID(),
    task_id: o.taskId,
    timestamp: isoNow(o.end),
    start_time: isoNow(o.start),
    end_time: isoNow(o.end),
    duration: (o.end.getTime() - o.start.getTime()) / 1000,
    termination_reason: o.terminationReason,
    agent_cost: o.agentCost ?? null,
    user_cost: o.userCost ?? null,
    reward_info: o.rewardInfo ?? null,
    messages: o.messages,
    trial: o.trial ?? 0,
    seed: o.seed ?? null,
    mode: 'half_duplex',
  };
}

export function buildResults(info: Info, tasks: Results['tasks'], simulations: SimulationRun[]): Results {
  return { timestamp: isoNow(), info, tasks, simulations };
}
