// A user simulator for one τ² task: the task's scenario, the domain's user tools (filtered by the
// task's `user_tools`; none when the domain has none), and the matching guidelines file.
import type { Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { renderUserScenario } from '../../domains/tasks/scenario.ts';
import type { ToolSchema } from '../../protocols/dialogue.ts';
import type { ChatModel, UserPort } from '../kit/ports.ts';
import { buildUserSystemPrompt, loadUserGuidelines } from './prompt.ts';
import { createUserSimulator } from './simulator.ts';

export interface TaskUserSetup {
  systemPrompt: string;
  tools: ToolSchema[];
}

/** The user's system prompt and tools for `task` (pure given the data files). */
export function userSetupFor(domain: DomainSpec, task: Task): TaskUserSetup {
  const env = domain.createEnvironment();
  const tools = env.userTools ? (env.userToolSchemas(task.user_tools ?? null) as ToolSchema[]) : [];
  const systemPrompt = buildUserSystemPrompt(loadUserGuidelines(tools.length > 0), renderUserScenario(task));
  return { systemPrompt, tools };
}

export function createTaskUser(domain: DomainSpec, task: Task, model: ChatModel, opts: { temperature?: number; maxTokens?: number } = {}): UserPort {
  const { systemPrompt, tools } = userSetupFor(domain, task);
  return createUserSimulator({ model, systemPrompt, tools, ...opts });
}
