// The verifier role. Checker writing: `synth.task.accepted` → `synth.task.ready` (checker validated,
// τ² criteria emitted) or `synth.item.dropped` (stage "checker"). Trajectory verification:
// `synth.dialogue.played` → `synth.dataset.record` (checker passed) or `synth.dialogue.failed`.
import {
  DatasetRecordMsg,
  DialogueFailed,
  DialoguePlayed,
  ItemDropped,
  TaskAccepted,
  TaskReady,
  type Checker,
  type DialoguePlayed as PlayedData,
  type TaskReviewed,
} from '../../protocols/synthesis.ts';
import { output, type PublishEvent, type RoleInput } from '../../runtime/host/role.ts';
import type { LlmClient } from '../../llm/client/index.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { getDomain } from '../../domains/registry.ts';
import type { RoleContext, RoleDefinition } from '../../runtime/host/role.ts';
import { runChecker, type SandboxLimits } from '../../sandbox/checker-sandbox.ts';
import { buildAgentSystemPrompt } from '../kit/agent-prompt.ts';
import { askJson } from '../kit/ask-json.ts';
import { addTokens, itemSeed, roleParams, stamp, workRole, workerLlm } from '../kit/work-role.ts';
import { observedValues } from '../kit/explore.ts';
import { checkDialogueGrounding } from '../kit/task-checks.ts';
import { compileChecker, goldDiff, intentSpec, selectSpec, specFromDiff, validateChecker, validationCases } from './checker.ts';
import { buildCriteria } from './criteria.ts';
import { changePath, dialogueFinalState, initialEnvironment, stateOf } from '../../domains/tasks/states.ts';
import { DEFAULT_INSTRUCTIONS } from '../kit/instructions.ts';

export interface VerifierDeps {
  domain: (name: string) => DomainSpec;
  llm: LlmClient;
  sandbox?: SandboxLimits;
  /**
   * `spec` (default): the model picks which changed leaves and calls to require and the verifier
   * compiles the checker. `code`: the model writes the checker's JavaScript itself (for models that
   * can); either way the candidate must validate, else the full-diff checker is used.
   */
  checkerMode?: 'spec' | 'code';
  /**
   * `require` (default): a dialogue whose checker passes is still failed when the agent wrote a
   * literal value no earlier user turn or tool result contains (checkDialogueGrounding) — it is not
   * evidence of a task done from the conversation. `off`: the checker alone decides.
   */
  dialogueGrounding?: 'require' | 'off';
}

/** Terminations τ² grades; anything else (step limit, errors) is a failed dialogue whatever the state. */
const GRADED = new Set(['user_stop', 'agent_stop']);

async function writeChecker(deps: VerifierDeps, input: RoleInput<TaskReviewed>): Promise<PublishEvent> {
  const t = input.data;
  const domain = deps.domain(t.domain);
  const d = goldDiff(domain, t.task);
  // The task's kind adds what the state diff cannot say: nothing written, values told, a refusal said.
  const probe = domain.createEnvironment();
  const extra = intentSpec(t.intent, probe.getTools().filter((x) => probe.isMutatingTool(x.name)).map((x) => x.name));
  const full = { ...specFromDiff(d.changes, d.writeCalls), ...extra };
  const { cases, problems } = validationCases(domain, t.task, observedValues(t.exploration), t.intent);
  let prov = t.provenance;
  const drop = (reasons: string[], detail: Record<string, unknown> = {}) =>
    output(ItemDropped, { runId: t.runId, planId: t.planId, itemId: t.itemId, stage: 'checker', reasons, detail: { task: t.task, verdicts: t.verdicts, ...detail }, provenance: stamp(prov, input, prov.roles.verifier?.model ?? null) });
  if (problems.length) return drop(problems);

  const paths = full.expectations.map((e) => changePath(e));
  const actionsText = (t.task.evaluation_criteria?.actions ?? []).map((a) => `${a.name}(${JSON.stringify(a.arguments)})`).join('; ');
  const changesText = d.changes.map((c) => `- ${changePath(c)}: ${JSON.stringify(c.before ?? null)} -> ${JSON.stringify(c.after ?? null)}`).join('\n');
  const rejectedCandidates: Checker['rejectedCandidates'] = [];
  const params = roleParams(input);
  let checker: Checker | null = null;
  let candidate: string | null = null;
  // An info or refusal task changes no state: its spec follows from its kind, there is nothing to choose.
  const saying = t.intent?.kind === 'info' || t.intent?.kind === 'refusal';
  if (saying) {
    // (no model call)
  } else if (deps.checkerMode === 'code') {
    const ans = await askJson<{ source: string }>(deps.llm, {
      system: input.instructions?.text ?? '',
      user:
        `Write the checker as JavaScript source defining function check(initialState, finalState, trajectory) that returns { pass: boolean, reasons: string[] }. ` +
        `A state is { agent: <agent database>, user: <user database or null> } as plain JSON; trajectory is the list of dialogue messages (assistant messages have tool_calls [{id, name, arguments}], tool results are {role: "tool", id, content, error}). ` +
        `No imports, no globals: plain computation only.\n\nTask goal: ${t.plan.synthesis.goal}\nGold actions: ${actionsText}\nState changes made by the gold actions:\n${changesText}`,
      name: 'checker_code',
      schema: { type: 'object', additionalProperties: false, required: ['source'], properties: { source: { type: 'string', maxLength: 4000 } } },
      maxTokens: params.maxTokens ?? 1200,
      temperature: params.temperature ?? 0,
      seed: itemSeed(prov, 0),
    });
    prov = stamp(addTokens(prov, ans.tokens), input, ans.model);
    if (ans.value) candidate = ans.value.source;
    else rejectedCandidates.push({ origin: `llm-code (no answer: ${ans.error})`, validation: [] });
  } else {
    const ans = await askJson<{ checks: string[]; requiredCalls: string[] }>(deps.llm, {
      system: input.instructions?.text ?? '',
      user: `Task goal: ${t.plan.synthesis.goal}\nGold actions: ${actionsText}\nState changes made by the gold actions:\n${changesText}\n\nWhich changes and calls must the checker require?`,
      name: 'checker_spec',
      schema: {
        type: 'object',
        additionalProperties: false,
        required: ['checks', 'requiredCalls'],
        properties: {
          checks: { type: 'array', items: { type: 'string', enum: paths }, minItems: 1, maxItems: Math.max(1, paths.length) },
          requiredCalls: { type: 'array', items: { type: 'string', enum: full.requiredCalls.length ? full.requiredCalls : ['none'] }, maxItems: Math.max(1, full.requiredCalls.length) },
        },
      },
      maxTokens: params.maxTokens ?? 200,
      temperature: params.temperature ?? 0,
      seed: itemSeed(prov, 0),
    });
    prov = stamp(addTokens(prov, ans.tokens), input, ans.model);
    if (ans.value) candidate = compileChecker(t.task.id, { ...selectSpec(full, ans.value.checks, ans.value.requiredCalls), ...extra });
    else rejectedCandidates.push({ origin: `llm (no answer: ${ans.error})`, validation: [] });
  }
  if (candidate !== null) {
    const v = await validateChecker(candidate, cases, deps.sandbox);
    if (v.ok) checker = { source: candidate, origin: 'llm', validation: v.results, rejectedCandidates };
    else rejectedCandidates.push({ origin: deps.checkerMode === 'code' ? 'llm-code' : 'llm', validation: v.results });
  }
  if (!checker) {
    const src = compileChecker(t.task.id, full);
    const v = await validateChecker(src, cases, deps.sandbox);
    if (!v.ok) return drop([`the full-diff checker failed validation on: ${v.results.filter((r) => !r.ok).map((r) => r.case).join(', ')}`], { validation: v.results });
    checker = { source: src, origin: 'diff', validation: v.results, rejectedCandidates };
  }
  const criteria = buildCriteria(domain, t.task, d.changes, t.intent);
  const task = { ...t.task, evaluation_criteria: criteria };
  return output(TaskReady, { ...t, task, checker, criteria, provenance: prov });
}

async function judgeDialogue(deps: VerifierDeps, input: RoleInput<PlayedData>): Promise<PublishEvent> {
  const p = input.data;
  const domain = deps.domain(p.domain);
  const initial = stateOf(initialEnvironment(domain, p.task));
  const final = dialogueFinalState(domain, p.task, p.dialogue.messages);
  const v = await runChecker(p.checker.source, { initialState: initial, finalState: final, trajectory: p.dialogue.messages }, deps.sandbox);
  const graded = GRADED.has(p.dialogue.terminationReason);
  const grounding = deps.dialogueGrounding === 'off' ? null : groundingOf(domain, p.dialogue.messages);
  const grounded = !grounding || grounding.ungrounded.length === 0;
  const pass = v.pass && graded && grounded;
  const reasons = [...v.reasons];
  if (!graded) reasons.push(`dialogue ended with ${p.dialogue.terminationReason}, which is not graded`);
  if (!grounded) reasons.push(`ungrounded: the agent wrote ${grounding!.ungrounded.join(', ')}, which no earlier user turn or tool result contains`);
  const checkerRun = { status: v.status, pass, reasons };
  const prov = stamp(p.provenance, input, p.provenance.roles.verifier?.model ?? null, 'verifier-judge');
  if (!pass) return output(DialogueFailed, { ...p, checkerRun, provenance: prov });
  const env = domain.createEnvironment();
  return output(DatasetRecordMsg, {
    recordId: `${p.runId}/${p.itemId}`,
    runId: p.runId,
    domain: p.domain,
    task: p.task,
    plan: { synthesis: p.plan.synthesis, evaluation: p.plan.evaluation },
    checker: p.checker,
    criteria: p.criteria,
    dialogue: p.dialogue,
    checkerRun,
    verdicts: p.verdicts,
    ...(p.intent ? { intent: p.intent } : {}),
    agentTools: env.agentToolSchemas() as unknown as Record<string, unknown>[],
    agentSystemPrompt: buildAgentSystemPrompt(domain.policy()),
    provenance: prov,
  });
}

/** The dialogue's grounding against the domain's agent tools (mutating ones are checked, enum parameters are choices). */
function groundingOf(domain: DomainSpec, messages: PlayedData['dialogue']['messages']) {
  const env = domain.createEnvironment();
  const enums = new Set<string>();
  for (const s of env.agentToolSchemas() as { function: { name: string; parameters?: { properties?: Record<string, { enum?: unknown[] }> } } }[]) {
    for (const [k, p] of Object.entries(s.function.parameters?.properties ?? {})) if (Array.isArray(p.enum)) enums.add(`${s.function.name}.${k}`);
  }
  return checkDialogueGrounding(messages, (t) => env.isMutatingTool(t), (t, k) => enums.has(`${t}.${k}`));
}

export function verifierRole(deps: VerifierDeps) {
  return workRole<TaskReviewed | PlayedData>({
    name: 'verifier',
    impl: 'verifier@1',
    consumes: [TaskAccepted, DialoguePlayed],
    produces: [TaskReady, ItemDropped, DatasetRecordMsg, DialogueFailed],
    concurrency: 2,
    async run(input) {
      if (input.message.kind === DialoguePlayed.kind) return [await judgeDialogue(deps, input as RoleInput<PlayedData>)];
      return [await writeChecker(deps, input as RoleInput<TaskReviewed>)];
    },
  });
}

/** For `troupe worker --roles verifier`: the model from the environment (see workerLlm); TROUPE_VERIFIER_CHECKER_MODE=code for code mode. */
/** Seeded into the instructions bucket by a worker when the role's key is unset. */
export const defaultInstructions = DEFAULT_INSTRUCTIONS.verifier;

export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  const grounding = process.env.TROUPE_VERIFIER_DIALOGUE_GROUNDING?.trim() || 'require';
  if (grounding !== 'require' && grounding !== 'off') throw new Error(`TROUPE_VERIFIER_DIALOGUE_GROUNDING: "${grounding}" is not one of require, off`);
  return verifierRole({ domain: getDomain, llm: workerLlm('verifier', ctx), checkerMode: process.env.TROUPE_VERIFIER_CHECKER_MODE === 'code' ? 'code' : 'spec', dialogueGrounding: grounding });
}
