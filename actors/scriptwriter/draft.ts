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
  /** write / multi-intent: the writes; info / refusal: the reads the agent makes. */
  actions: { name: string; arguments: Record<string, unknown> }[];
  /** info: the field of the looked-up entity the user asks about. */
  ask_about?: string;
  /** refusal: the write the user asks for, which the policy forbids. */
  request?: { name: string; arguments: Record<string, unknown> };
}

const MAX_ACTIONS = { easy: 1, medium: 2, hard: 3 } as const;

/** Scalar field names in the exploration's results (what an info task may ask about), at most 30. */
export function fieldNames(steps: readonly ExplorationStep[]): string[] {
  const out = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean' ? out.add(k) : walk(x));
  };
  for (const s of steps) if (!s.error) walk(parseJson(s.output));
  return [...out].filter((k) => !/^\d/.test(k)).slice(0, 30);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The JSON schema the scriptwriter's model answers in, by the plan's task kind. */
export function draftSchema(domain: DomainSpec, plan: SynthesisPlan, steps: readonly ExplorationStep[]): Record<string, unknown> {
  const env = domain.createEnvironment();
  const kind = plan.taskKind ?? 'write';
  const writes = env.getTools().filter((t) => t.type === 'write' && env.isMutatingTool(t.name));
  const wanted = writes.filter((t) => plan.toolPatterns.includes(`write:${t.name}`));
  const offered = wanted.length ? wanted : writes;
  const reads = env.getTools().filter((t) => t.type === 'read' && !env.isMutatingTool(t.name));
  const defs: Record<string, unknown> = {};
  const callSchemas = (tools: typeof writes) => tools.map((t) => {
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
  const one = (xs: Record<string, unknown>[]) => (xs.length === 1 ? xs[0] : { oneOf: xs });
  const text = {
    reason_for_call: { type: 'string', maxLength: 160 },
    known_info: { type: 'string', maxLength: 160 },
    task_instructions: { type: 'string', maxLength: 240 },
  };
  // Reads whose id parameters the exploration can fill (a read of an unknown id is a guess).
  const usableReads = reads.filter((t) => t.params.filter((p) => !('default' in p) && p.name.endsWith('_id')).every((p) => candidatesFor(p.name, steps).length > 0));
  const readSchemas = callSchemas(usableReads.length ? usableReads : reads);
  const body =
    kind === 'info'
      ? {
          required: ['reason_for_call', 'known_info', 'task_instructions', 'actions', 'ask_about'],
          properties: { ...text, actions: { type: 'array', items: one(readSchemas), minItems: 1, maxItems: 2 }, ask_about: { type: 'string', enum: fieldNames(steps).length ? fieldNames(steps) : ['status'] } },
        }
      : kind === 'refusal'
        ? {
            required: ['reason_for_call', 'known_info', 'task_instructions', 'request', 'actions'],
            properties: { ...text, request: one(callSchemas(offered)), actions: { type: 'array', items: one(readSchemas), minItems: 1, maxItems: 2 } },
          }
        : {
            required: ['reason_for_call', 'known_info', 'task_instructions', 'actions'],
            properties: { ...text, actions: { type: 'array', items: one(callSchemas(offered)), minItems: kind === 'multi-intent' ? 2 : 1, maxItems: kind === 'multi-intent' ? 3 : MAX_ACTIONS[plan.tier] } },
          };
  return { ...(Object.keys(defs).length ? { $defs: defs } : {}), type: 'object', additionalProperties: false, ...body };
}

/**
 * The reads the agent must make before acting: for each `*_id` argument of a write (or of a refused
 * request) that the user does not state, the first exploration read that revealed it (its output
 * holds the id, its arguments do not). At most `max`, in exploration order. These go before the
 * writes in the gold actions (τ² gold actions include such lookups; they change no state).
 */
export function policyReads(steps: readonly ExplorationStep[], calls: readonly { name: string; arguments: Record<string, unknown> }[], max = 2): { name: string; arguments: Record<string, unknown> }[] {
  const out: ExplorationStep[] = [];
  for (const c of calls) {
    for (const [k, v] of Object.entries(c.arguments)) {
      if (!k.endsWith('_id') || typeof v !== 'string') continue;
      const step = steps.find((s) => !s.error && s.output.includes(v) && !JSON.stringify(s.arguments).includes(v));
      if (step && !out.includes(step)) out.push(step);
    }
  }
  return out.slice(0, max).map((s) => ({ name: s.name, arguments: s.arguments }));
}

/** Scalar values under `field` in the outputs of `task`'s gold reads (what an info task tells), at most 2. */
export function valuesToTell(domain: DomainSpec, task: Task, field: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === field && (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) out.push(String(x));
        else walk(x);
      }
    }
  };
  for (const m of runActions(domain, task, task.evaluation_criteria?.actions ?? []).trajectory) if (m.role === 'tool' && !(m as { error?: boolean }).error) walk(parseJson(String(m.content ?? '')));
  return [...new Set(out.filter((x) => x.trim() !== ''))].slice(0, 2);
}

export type DraftIntent = NonNullable<TaskProposal['intent']>;

/**
 * A draft answer, assembled by the plan's kind: the τ² task (gold actions = policy reads + the
 * writes; for info / refusal the reads) and its intent (the values to tell, the refused request).
 */
export function assembleDraft(domain: DomainSpec, id: string, plan: SynthesisPlan, answer: DraftAnswer, notes: string, steps: readonly ExplorationStep[]): { task: Task; intent: DraftIntent } {
  const kind = plan.taskKind ?? 'write';
  if (kind === 'info') {
    const field = answer.ask_about ?? 'status';
    const withAsk = { ...answer, task_instructions: `${answer.task_instructions.trim()} Ask the agent to tell you the ${field.replace(/_/g, ' ')}.`.trim() };
    const task = assembleTask(domain, id, plan, withAsk, notes);
    return { task, intent: { kind, communicate: valuesToTell(domain, task, field) } };
  }
  if (kind === 'refusal') {
    const request = answer.request ?? answer.actions[0];
    const reads = [...policyReads(steps, [request]), ...answer.actions];
    const seen = new Set<string>();
    const gold = reads.filter((a) => !seen.has(JSON.stringify(a)) && (seen.add(JSON.stringify(a)), true));
    const ask = { ...answer, actions: [...gold, request], task_instructions: `${answer.task_instructions.trim()} If the agent says it cannot do this, accept that and end the conversation.`.trim() };
    // Assemble with the request among the actions so its values are stated to the user, then keep only the reads as gold.
    const task = assembleTask(domain, id, plan, ask, notes);
    const actions = (task.evaluation_criteria?.actions ?? []).slice(0, gold.length);
    return { task: { ...task, evaluation_criteria: { ...task.evaluation_criteria!, actions } }, intent: { kind, forbidden: [request] } };
  }
  const reads = policyReads(steps, answer.actions);
  return { task: assembleTask(domain, id, plan, { ...answer, actions: [...reads, ...answer.actions] }, notes), intent: { kind } };
}

/** Plan, exploration and (for a revision) the critic's reasons, as the model's user message. */
export function draftPrompt(domainName: string, plan: SynthesisPlan, steps: readonly ExplorationStep[], index: number, reasons?: string[]): string {
  const kind = plan.taskKind ?? 'write';
  const how =
    kind === 'info'
      ? 'The user wants information: list the read calls the agent makes, and the field the user asks about.'
      : kind === 'refusal'
        ? 'The user asks for a change the policy forbids: give that request, and the read calls the agent makes before refusing.'
        : kind === 'multi-intent'
          ? 'The user has two or more requests in one conversation: list every write.'
          : '';
  const explored = steps
    .filter((s) => !s.error)
    .map((s) => `${s.name}(${JSON.stringify(s.arguments)}) -> ${s.output.slice(0, 600)}`)
    .join('\n');
  return [
    `Domain: ${domainName}`,
    `Plan: kind=${kind}; tier=${plan.tier}; patterns=${plan.toolPatterns.join(', ')}; user style=${plan.userStyle}; persona=${plan.persona}; goal=${plan.goal}`,
    how,
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
  // What the user can state is the reason for call and the known info (task_instructions say how to
  // behave): a value found only in the instructions is repeated in known_info, so a user that opens
  // with its scenario (UserOpening `scenario`) states every value the agent must write.
  const text = `${instr.reason_for_call}\n${instr.known_info ?? ''}`.toLowerCase();
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
