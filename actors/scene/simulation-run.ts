// A played dialogue in τ²'s results format (one `simulations[]` entry of results.json).
import type { DialogueResult } from '../../protocols/dialogue.ts';
import type { RewardInfo, SimulationRun } from '../../protocols/tau2/results.ts';

export function toSimulationRun(result: DialogueResult, rewardInfo: RewardInfo | null = null): SimulationRun {
  return {
    id: result.dialogueId,
    task_id: result.taskId,
    timestamp: result.endTime,
    start_time: result.startTime,
    end_time: result.endTime,
    duration: result.durationMs / 1000,
    termination_reason: result.terminationReason,
    agent_cost: result.agentCost,
    user_cost: result.userCost,
    reward_info: rewardInfo,
    messages: result.messages as SimulationRun['messages'],
    trial: result.trial,
    seed: result.seed ?? null,
    mode: 'half_duplex',
  };
}
