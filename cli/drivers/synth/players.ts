// The two players of a synthesis dialogue: who plays the agent (the LLM actor or its gold-action
// teacher) and the user simulator, for the in-process society and the hosted rollout role alike.
import type { DomainSpec } from '../../../domains/core/domain.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import { LOCAL_MODEL, type LlmClient } from '../../../llm/client/index.ts';
import type { RolloutPlayers } from '../../../actors/scene/rollout.ts';
import { createDomainAgent } from '../../../actors/actor/for-domain.ts';
import { createOracleAgent } from '../../../actors/actor/oracle-agent.ts';
import { GOLD_REFUSAL } from '../../../actors/verifier/checker.ts';
import { createTaskUser } from '../../../actors/user-simulator/for-task.ts';
import { llmClientChatModel } from '../../../actors/kit/llm-chat-model.ts';
import type { UserOpening } from '../../../actors/kit/ports.ts';
import type { RolesConfig } from './roles-config.ts';

/** Who plays the agent in synthesis dialogues. */
export type RolloutAgent = 'llm' | 'oracle';

/**
 * The agent of synthesis rollouts: the configured one, else the gold-action teacher (oracle) when
 * the actor's model is the embedded 135M model — it cannot complete a tool-use task, so every
 * dialogue would fail and the dataset stay empty — and the LLM agent on any real endpoint.
 */
export function rolloutAgentFor(configured: RolloutAgent | undefined, actor: LlmClient): RolloutAgent {
  return configured ?? (actor.config.model === LOCAL_MODEL ? 'oracle' : 'llm');
}

/** How the synthesis user opens a dialogue: the configured way, else `scenario` on the embedded model (it answers the greeting as if it were the assistant and never states its task) and `model` elsewhere. */
export function userOpeningFor(configured: UserOpening | undefined, user: LlmClient): UserOpening {
  return configured ?? (user.config.model === LOCAL_MODEL ? 'scenario' : 'model');
}

export function rolloutPlayers(config: RolesConfig, clients: { actor: LlmClient; user: LlmClient }): { agent: RolloutAgent; players: (d: DomainSpec, task: Task) => RolloutPlayers } {
  const agent = rolloutAgentFor(config.actor, clients.actor);
  const agentModel = llmClientChatModel(clients.actor);
  const userModel = llmClientChatModel(clients.user);
  const opening = userOpeningFor(config.userOpening, clients.user);
  return {
    agent,
    players: (d, task) => ({
      // A refusal task's gold answer is the refusal (its τ² criteria state it as an NL assertion).
      agent: agent === 'oracle' ? createOracleAgent(task, /^The agent refuses/.test(task.evaluation_criteria?.nl_assertions?.[0] ?? '') ? { closing: GOLD_REFUSAL } : {}) : createDomainAgent(d, agentModel, { temperature: clients.actor.config.temperature, maxTokens: clients.actor.config.maxTokens }),
      user: createTaskUser(d, task, userModel, { temperature: clients.user.config.temperature, maxTokens: clients.user.config.maxTokens, opening }),
      agentInfo: agent === 'oracle' ? { impl: 'oracle-teacher@1', model: null } : { impl: 'actor-llm@1', model: clients.actor.config.model },
      userInfo: { impl: 'user-simulator-llm@1', model: clients.user.config.model },
    }),
  };
}

