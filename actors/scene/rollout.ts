// The rollout role: `synth.task.ready` → one dialogue (the scene machine with the agent and the
// user simulator on the task's environment) → `synth.dialogue.played`.
import { DialoguePlayed, TaskReady, type TaskReady as ReadyData } from '../../protocols/synthesis.ts';
import { output } from '../../runtime/host/role.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { Task } from '../../protocols/tau2/task.ts';
import { runScene } from './machine.ts';
import { historyFromTask, openTaskEnvironment } from '../kit/task-env.ts';
import { localEnvPort } from '../kit/remote.ts';
import type { AgentPort, UserPort } from '../kit/ports.ts';
import { addTokens, stamp, workRole } from '../kit/work-role.ts';

export interface RolloutPlayers {
  agent: AgentPort;
  user: UserPort;
  /** Provenance of the two players. */
  agentInfo: { impl: string; model: string | null };
  userInfo: { impl: string; model: string | null };
}

export interface RolloutDeps {
  domain: (name: string) => DomainSpec;
  players: (domain: DomainSpec, task: Task) => RolloutPlayers;
  maxSteps?: number;
  timeoutMs?: number;
}

export function rolloutRole(deps: RolloutDeps) {
  return workRole<ReadyData>({
    name: 'rollout',
    impl: 'rollout-scene@1',
    consumes: [TaskReady],
    produces: [DialoguePlayed],
    concurrency: 1,
    async run(input) {
      const t = input.data;
      const domain = deps.domain(t.domain);
      const players = deps.players(domain, t.task);
      const result = await runScene({
        dialogueId: `${t.runId}/${t.itemId}`,
        domain: t.domain,
        taskId: t.task.id,
        agent: players.agent,
        user: players.user,
        env: localEnvPort(openTaskEnvironment(domain, t.task)),
        messageHistory: historyFromTask(t.task),
        limits: { maxSteps: deps.maxSteps ?? 30, ...(deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}) },
      });
      const agentTokens = { prompt: result.agentUsage.prompt_tokens, completion: result.agentUsage.completion_tokens };
      const userTokens = { prompt: result.userUsage.prompt_tokens, completion: result.userUsage.completion_tokens };
      let prov = stamp(t.provenance, input, null);
      prov = addTokens(addTokens(prov, agentTokens), userTokens);
      prov = { ...prov, roles: { ...prov.roles, actor: { ...players.agentInfo, instructionsRevision: null }, 'user-simulator': { ...players.userInfo, instructionsRevision: null } } };
      return [
        output(DialoguePlayed, {
          ...t,
          dialogue: {
            dialogueId: result.dialogueId,
            terminationReason: result.terminationReason,
            messages: result.messages,
            steps: result.steps,
            agentTokens,
            userTokens,
            error: result.error ?? null,
          },
          provenance: prov,
        }),
      ];
    },
  });
}
