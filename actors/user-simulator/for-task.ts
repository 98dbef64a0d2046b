// A user simulator for one τ² task: the task's scenario, the domain's user tools (filtered by the
// task's `user_tools`; none when the domain has none), and the matching guidelines file.
import type { Task } from '../../protocols/tau2/task.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { renderUserScenario } from '../../domains/tasks/scenario.ts';
import type { ToolSchema } from '../../protocols/dialogue.ts';
import type { ChatModel, UserOpening, UserPort } from '../kit/ports.ts';
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

/**
 * The user's first turn under the `scenario` opening (pure): the reason for call and the known info,
 * or the instruction text itself when the task's instructions are one string (τ² mock).
 */
export function scenarioOpening(task: Pick<Task, 'user_scenario'>): string {
  const instr = task.user_scenario.instructions;
  if (typeof instr === 'string') return instr.trim();
  return [instr.reason_for_call, instr.known_info ?? ''].map((s) => s.trim()).filter(Boolean).join(' ');
}

export interface TaskUserOptions {
  temperature?: number;
  maxTokens?: number;
  /** Default `model`. */
  opening?: UserOpening;
}

export function createTaskUser(domain: DomainSpec, task: Task, model: ChatModel, opts: TaskUserOptions = {}): UserPort {
  const { systemPrompt, tools } = userSetupFor(domain, task);
  const { opening, ...rest } = opts;
  return createUserSimulator({ model, systemPrompt, tools, ...rest, ...(opening === 'scenario' ? { openingText: scenarioOpening(task) } : {}) });
}
