// The scriptwriter role: `synth.plan.issued` → M × (`synth.task.proposed` | `synth.item.dropped`),
// and `synth.task.revise` → one redrafted `synth.task.proposed` (or a drop).
import {
  ItemDropped,
  PlanIssued,
  TaskProposed,
  TaskReviseRequested,
  type PlanIssued as PlanData,
  type ExplorationStep,
  type Provenance,
  type SynthesisPlan,
  type TaskReviewed,
} from '../../protocols/synthesis.ts';
import { output, type PublishEvent, type RoleInput } from '../../runtime/host/role.ts';
import type { LlmClient } from '../../llm/client/index.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { getDomain } from '../../domains/registry.ts';
import type { RoleContext, RoleDefinition } from '../../runtime/host/role.ts';
import { askJson } from '../kit/ask-json.ts';
import { addTokens, itemSeed, roleParams, stamp, workRole, workerLlm } from '../kit/work-role.ts';
import { assembleDraft, draftPrompt, draftSchema, expectedOutcome, taskIdFor, type DraftAnswer } from './draft.ts';
import { exploreWithModel } from './explore-model.ts';
import { explore } from '../kit/explore.ts';
import { DEFAULT_INSTRUCTIONS } from '../kit/instructions.ts';

export interface ScriptwriterDeps {
  domain: (name: string) => DomainSpec;
  llm: LlmClient;
  /**
   * `model` (default): the model explores with the read tools (explore-model.ts), the scripted
   * exploration only when that fails; `scripted`: the scripted exploration only.
   */
  exploration?: 'model' | 'scripted';
  /** Model turns of exploration (default 3). */
  exploreRounds?: number;
}

export function itemId(planId: string, k: number): string {
  return `${planId}-t${k}`;
}

async function draftOne(
  deps: ScriptwriterDeps,
  input: RoleInput<unknown>,
  ctx: {
    runId: string;
    domainName: string;
    planId: string;
    itemId: string;
    index: number;
    round: number;
    plan: Pick<PlanData, 'synthesis' | 'evaluation' | 'maxRevisions'>;
    reasons?: string[];
    verdicts?: TaskReviewed['verdicts'];
    /** A revision keeps the exploration of the draft it revises. */
    explored?: { steps: ExplorationStep[]; explorer?: TaskReviewed['explorer'] };
  },
  prov: Provenance,
): Promise<PublishEvent> {
  const domain = deps.domain(ctx.domainName);
  const params = roleParams(input);
  let steps: ExplorationStep[];
  let explorer: NonNullable<TaskReviewed['explorer']>;
  if (ctx.explored) {
    steps = ctx.explored.steps;
    explorer = ctx.explored.explorer ?? { mode: 'scripted-fallback', modelCalls: 0, reason: 'kept from the revised draft' };
  } else if (deps.exploration === 'scripted') {
    steps = explore(domain.createEnvironment(), ctx.index * 2);
    explorer = { mode: 'scripted-fallback', modelCalls: 0, reason: 'model exploration switched off' };
  } else {
    const m = await exploreWithModel(deps.llm, domain.createEnvironment(), {
      domainName: ctx.domainName,
      plan: ctx.plan.synthesis as SynthesisPlan,
      system: input.instructions?.text ?? '',
      offset: ctx.index * 2,
      rounds: deps.exploreRounds,
      seed: itemSeed(prov, 50 + ctx.round, ctx.index * 131 + 7),
      temperature: params.temperature ?? 0.7,
    });
    prov = stamp(addTokens(prov, m.tokens), input, m.model);
    if (m.ok) {
      steps = m.steps;
      explorer = { mode: 'model', modelCalls: m.calls };
    } else {
      // The model found nothing the task can use: the scripted exploration, and the proposal says so.
      steps = explore(domain.createEnvironment(), ctx.index * 2);
      explorer = { mode: 'scripted-fallback', modelCalls: m.calls, reason: m.reason ?? 'model exploration failed' };
    }
  }
  const ans = await askJson<DraftAnswer>(deps.llm, {
    system: input.instructions?.text ?? '',
    user: draftPrompt(ctx.domainName, ctx.plan.synthesis, steps, ctx.index, ctx.reasons),
    name: 'task_draft',
    schema: draftSchema(domain, ctx.plan.synthesis, steps),
    maxTokens: params.maxTokens ?? 400,
    seed: itemSeed(prov, ctx.round, ctx.index * 7919 + ctx.round),
    temperature: params.temperature ?? 0.7,
  });
  prov = stamp(addTokens(prov, ans.tokens), input, ans.model);
  if (!ans.value) {
    return output(ItemDropped, { runId: ctx.runId, planId: ctx.planId, itemId: ctx.itemId, stage: 'draft', reasons: [`scriptwriter: ${ans.error}`], provenance: prov });
  }
  const { task, intent } = assembleDraft(domain, taskIdFor(ctx.itemId), ctx.plan.synthesis as SynthesisPlan, ans.value, `Troupe synthesis run ${ctx.runId}, plan ${ctx.planId}, round ${ctx.round}`, steps);
  return output(TaskProposed, {
    runId: ctx.runId,
    domain: ctx.domainName,
    planId: ctx.planId,
    itemId: ctx.itemId,
    round: ctx.round,
    plan: ctx.plan,
    task,
    exploration: steps,
    intent,
    explorer,
    expected: expectedOutcome(domain, task),
    ...(ctx.reasons ? { revisionOf: ctx.reasons } : {}),
    ...(ctx.verdicts ? { verdicts: ctx.verdicts } : {}),
    provenance: prov,
  });
}

export function scriptwriterRole(deps: ScriptwriterDeps) {
  return workRole<PlanData | TaskReviewed>({
    name: 'scriptwriter',
    impl: 'scriptwriter-llm@1',
    consumes: [PlanIssued, TaskReviseRequested],
    produces: [TaskProposed, ItemDropped],
    concurrency: 2,
    async run(input) {
      if (input.message.kind === TaskReviseRequested.kind) {
        const r = input.data as TaskReviewed;
        const last = r.verdicts[r.verdicts.length - 1];
        const index = Number(r.itemId.split('-t').pop() ?? 0);
        return [await draftOne(deps, input, { runId: r.runId, domainName: r.domain, planId: r.planId, itemId: r.itemId, index, round: r.round + 1, plan: r.plan, reasons: last?.reasons ?? [], verdicts: r.verdicts, explored: { steps: r.exploration, explorer: r.explorer } }, r.provenance)];
      }
      const p = input.data as PlanData;
      const out: PublishEvent[] = [];
      for (let k = 0; k < p.tasksPerPlan; k++) {
        const id = itemId(p.planId, k);
        // The plan's tokens are charged to its first item so run totals add up.
        const prov: Provenance = { ...p.provenance, itemId: id, tokens: k === 0 ? p.provenance.tokens : { prompt: 0, completion: 0 } };
        if (p.rejected) {
          out.push(output(ItemDropped, { runId: p.runId, planId: p.planId, itemId: id, stage: 'plan', reasons: p.rejected, provenance: prov }));
          continue;
        }
        const plan = { synthesis: p.synthesis, evaluation: p.evaluation, maxRevisions: p.maxRevisions };
        out.push(await draftOne(deps, input, { runId: p.runId, domainName: p.domain, planId: p.planId, itemId: id, index: k, round: 0, plan }, prov));
      }
      return out;
    },
  });
}

/** For `troupe worker --roles scriptwriter`: the model from the environment (see workerLlm); TROUPE_SCRIPTWRITER_EXPLORATION=scripted for the scripted exploration only. */
/** Seeded into the instructions bucket by a worker when the role's key is unset. */
export const defaultInstructions = DEFAULT_INSTRUCTIONS.scriptwriter;

export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  return scriptwriterRole({ domain: getDomain, llm: workerLlm('scriptwriter', ctx), exploration: process.env.TROUPE_SCRIPTWRITER_EXPLORATION === 'scripted' ? 'scripted' : 'model' });
}
