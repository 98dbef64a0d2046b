// Drafting one τ² task from a plan and an exploration: the answer schema (write tools only, id
// parameters limited to ids the exploration saw), assembling the answer into τ²'s task schema, and
// executing the gold actions on a scratch environment for the expected final state.
import type { Action, Task } from '../../protocols/tau2/task.ts';
import type { ExplorationStep, SynthesisPlan, TaskProposal } from '../../protocols/synthesis.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { openAiSchema } from '../../domains/core/tool.ts';
import { toolEvidence } from '../kit/task-checks.ts';
import { initialEnvironment, runActions } from '../../domains/tasks/states.ts';
import { candidatesFor } from '../kit/explore.ts';

export interface DraftAnswer {
  reason_for_call: string;
  known_info: string;
  task_instructions: string;
  actions: { name: string; arguments: Record<string, unknown> }[];
}

const MAX_ACTIONS = { easy: 1, medium: 2, hard: 3 } as const;

/** The JSON schema the scriptwriter's model answers in. */
export function draftSchema(domain: DomainSpec, plan: SynthesisPlan, steps: readonly ExplorationStep[]): Record<string, unknown> {
  const env = domain.createEnvironment();
  const writes = env.getTools().filter((t) => t.type === 'write' && env.isMutatingTool(t.name));
  const wanted = writes.filter((t) => plan.toolPatterns.includes(`write:${t.name}`));
  const offered = wanted.length ? wanted : writes;
  const defs: Record<string, unknown> = {};
  const actionSchemas = offered.map((t) => {
    const params = openAiSchema(t).function.parameters as { properties?: Record<string, Record<string, unknown>>; $defs?: Record<string, unknown> };
    // Nested models are `$ref: #/$defs/X`: keep their definitions at the root of our schema.
    Object.assign(defs, params.$defs ?? {});
    const required = t.params.filter((p) => !('default' in p));
    const props: Record<string, unknown> = {};
    for (const p of required) {
      const base = { ...(params.properties?.[p.name] ?? { type: 'string' }) };
      delete base.description;
      delete base.title;
      const ids = p.name.endsWith('_id') ? candidatesFor(p.name, steps) : [];
      if (ids.length) props[p.name] = { type: 'string', enum: ids };
      else if (base.type === 'string' && !base.enum) props[p.name] = { type: 'string', maxLength: 48 };
      else props[p.name] = base;
    }
    return {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'arguments'],
      properties: { name: { const: t.name }, arguments: { type: 'object', additionalProperties: false, required: required.map((p) => p.name), properties: props } },
    };
  });
  return {
    ...(Object.keys(defs).length ? { $defs: defs } : {}),
    type: 'object',
    additionalProperties: false,
    required: ['reason_for_call', 'known_info', 'task_instructions', 'actions'],
    properties: {
      reason_for_call: { type: 'string', maxLength: 160 },
      known_info: { type: 'string', maxLength: 160 },
      task_instructions: { type: 'string', maxLength: 240 },
      actions: { type: 'array', items: actionSchemas.length === 1 ? actionSchemas[0] : { oneOf: actionSchemas }, minItems: 1, maxItems: MAX_ACTIONS[plan.tier] },
    },
  };
}

/** Plan, exploration and (for a revision) the critic's reasons, as the model's user message. */
export function draftPrompt(domainName: string, plan: SynthesisPlan, steps: readonly ExplorationStep[], index: number, reasons?: string[]): string {
  const explored = steps
    .filter((s) => !s.error)
    .map((s) => `${s.name}(${JSON.stringify(s.arguments)}) -> ${s.output.slice(0, 600)}`)
    .join('\n');
  return [
    `Domain: ${domainName}`,
    `Plan: tier=${plan.tier}; patterns=${plan.toolPatterns.join(', ')}; user style=${plan.userStyle}; persona=${plan.persona}; goal=${plan.goal}`,
    `Exploration results:\n${explored}`,
    reasons?.length ? `The critic asked for a revision of your earlier draft:\n- ${reasons.join('\n- ')}` : '',
    `Write task number ${index + 1} for this plan.`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

function leaves(v: unknown): string[] {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(leaves);
  if (v && typeof v === 'object') return Object.values(v).flatMap(leaves);
  return [];
}

function leavesAndKeys(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(leavesAndKeys);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [k, ...leavesAndKeys(x)]);
  return leaves(v);
}

/**
 * Assemble the answer into a τ² task. Values the agent needs and cannot look up (titles, statuses,
 * amounts) are stated in `known_info`, since the user is the only source of them: the scriptwriter
 * knows the gold actions and decides what the user knows. An id is added only when it exists in
 * the initial database and the tools cannot reveal it from the scenario (a customer knows their own
 * user id); ids that only exist after an earlier gold action (a created task) are never added: the
 * agent learns them from the tools. The critic's grounding check verifies the result.
 */
export function assembleTask(domain: DomainSpec, id: string, plan: SynthesisPlan, answer: DraftAnswer, notes: string): Task {
  const actions: Action[] = answer.actions.map((a, i) => ({ action_id: `${id}_${i}`, requestor: 'assistant', name: a.name, arguments: a.arguments, info: null }));
  const base: Task = {
    id,
    description: { purpose: plan.goal || null, relevant_policies: null, notes },
    user_scenario: {
      persona: `${plan.persona || 'A customer'} (style: ${plan.userStyle})`,
      instructions: { domain: domain.name, reason_for_call: answer.reason_for_call.trim() || 'I need help.', known_info: answer.known_info.trim() || null, unknown_info: null, task_instructions: answer.task_instructions.trim() || 'Ask the agent for help.' },
    },
    evaluation_criteria: { actions, communicate_info: [], reward_basis: ['DB', 'COMMUNICATE'] },
  };
  const instr = base.user_scenario.instructions as { reason_for_call: string; known_info: string | null; task_instructions: string };
  const text = `${instr.reason_for_call}\n${instr.known_info ?? ''}\n${instr.task_instructions}`.toLowerCase();
  const evidence = toolEvidence(initialEnvironment(domain, base), text);
  const facts: string[] = [];
  const initialEnv = initialEnvironment(domain, base);
  const initialValues = new Set(leavesAndKeys([initialEnv.agentDbDump(), initialEnv.userDbDump()]));
  for (const a of actions) {
    for (const [k, v] of Object.entries(a.arguments)) {
      if (k.endsWith('_id') && !leaves(v).every((x) => initialValues.has(x))) continue;
      for (const leaf of leaves(v)) if (!text.includes(leaf.toLowerCase()) && !evidence.has(leaf)) facts.push(`${k.replace(/_/g, ' ')}: "${leaf}"`);
    }
  }
  if (facts.length) instr.known_info = [instr.known_info, `Details you can give: ${[...new Set(facts)].join('; ')}.`].filter(Boolean).join(' ');
  return base;
}

/** Execute the gold actions on a scratch environment: hashes before/after and any errors. */
export function expectedOutcome(domain: DomainSpec, task: Task): TaskProposal['expected'] {
  const init = runActions(domain, task, []);
  const gold = runActions(domain, task, task.evaluation_criteria?.actions ?? []);
  return {
    initialAgentHash: init.env.agentDbHash(),
    finalAgentHash: gold.env.agentDbHash(),
    initialUserHash: init.env.userDbHash(),
    finalUserHash: gold.env.userDbHash(),
    goldErrors: gold.errors,
  };
}

/** A task id τ² and file systems both accept. */
export function taskIdFor(itemId: string): string {
  return `synth_${itemId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
