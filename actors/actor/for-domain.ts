// An LLM agent for a τ² domain: the domain's policy in the system prompt, its agent tools offered.
import type { DomainSpec } from '../../domains/core/domain.ts';
import type { AgentPort, ChatModel } from '../kit/ports.ts';
import { createLlmAgent } from '../kit/agent.ts';
import { buildAgentSystemPrompt } from '../kit/agent-prompt.ts';

export function createDomainAgent(domain: DomainSpec, model: ChatModel, opts: { temperature?: number; maxTokens?: number; mayStop?: boolean } = {}): AgentPort {
  const env = domain.createEnvironment();
  return createLlmAgent({
    model,
    systemPrompt: buildAgentSystemPrompt(domain.policy()),
    tools: env.agentToolSchemas(),
    ...opts,
  });
}
