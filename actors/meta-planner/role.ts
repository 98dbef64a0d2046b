// The meta-planner role: `synth.run.requested` → N `synth.plan.issued` (always N, so redelivery
// republishes the same slots; a slot with no acceptable plan carries `rejected` and its items are
// dropped at stage "plan" downstream). A run with `fixedPlans` issues exactly those (no model call);
// `params.meta-planner` sets sampling and per-tier quotas; the run's overrides/seed/validation are
// copied into every item's provenance so each downstream role can resolve them.
import { PlanIssued, PlanLibrarySchema, SynthRunRequested, type PlanIssued as PlanIssuedData, type PlanLibrary, type SynthRunRequest, type SynthesisPlan } from '../../protocols/synthesis.ts';
import { valueKey } from '../../runtime/instructions/lineage.ts';
import { output, type PublishEvent } from '../../runtime/host/role.ts';
import type { LlmClient } from '../../llm/client/index.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { getDomain } from '../../domains/registry.ts';
import type { RoleContext, RoleDefinition } from '../../runtime/host/role.ts';
import { askJson } from '../kit/ask-json.ts';
import { addTokens, itemSeed, roleParams, stamp, workRole, workerLlm } from '../kit/work-role.ts';
import { PLAN_OVERLAP_MEASURE, PLAN_OVERLAP_THRESHOLD, distancesTo, maxSimilarity, planAnswerSchema, planSignature, tierSlots, toPlans, toolEntities, toolPatterns, type PlanAnswer, type ToolEntities } from './plans.ts';
import { DEFAULT_INSTRUCTIONS } from '../kit/instructions.ts';

export interface MetaPlannerDeps {
  domain: (name: string) => DomainSpec;
  llm: LlmClient;
  /** Model answers tried per plan slot before the slot is given up (default 3). */
  attempts?: number;
}

/** A plan given to the meta-planner rather than written by it. */
type GivenPlan = PlanLibrary[number];

/** What `synth.plan.issued` records about a plan's overlap with the plans issued before it. */
function overlapRecord(p: SynthesisPlan, before: SynthesisPlan[], entities: ToolEntities, attempts: number): PlanIssuedData['overlap'] {
  return {
    measure: PLAN_OVERLAP_MEASURE,
    maxSimilarity: maxSimilarity(p, before, entities),
    threshold: PLAN_OVERLAP_THRESHOLD,
    attempts,
    signature: { ...planSignature(p, entities) },
    distances: distancesTo(p, before, entities),
  };
}

export function planId(runId: string, index: number): string {
  return `${runId}-p${index}`;
}

export function metaPlannerRole(deps: MetaPlannerDeps) {
  return workRole<SynthRunRequest>({
    name: 'meta-planner',
    impl: 'meta-planner-llm@1',
    consumes: [SynthRunRequested],
    produces: [PlanIssued],
    concurrency: 1,
    async run(input) {
      const req = input.data;
      const params = roleParams(input);
      const runCopy = {
        ...(req.overrides ? { overrides: req.overrides } : {}),
        ...(req.revisions ? { revisions: req.revisions } : {}),
        ...(req.seed !== undefined ? { seed: req.seed } : {}),
        ...(req.validation ? { validation: true } : {}),
      };
      const newProv = (id: string) => ({ runId: req.runId, planId: id, itemId: `${id}-plan`, traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 }, ...runCopy });
      // What every plan of this run carries about its slot.
      const slot = (index: number) => ({ runId: req.runId, domain: req.domain, planId: planId(req.runId, index), index, tasksPerPlan: req.tasksPerPlan, maxRevisions: req.maxRevisions });
      // A given plan (fixed by the run, or from the library) is issued as it is: its overlap with the
      // plans before it is measured and recorded, never a reason to reject.
      const entities = toolEntities(deps.domain(req.domain));
      const issueGiven = (fp: GivenPlan, index: number, before: SynthesisPlan[], library?: PlanIssuedData['library']) => {
        const data: PlanIssuedData = {
          ...slot(index),
          synthesis: fp.synthesis,
          evaluation: fp.evaluation,
          overlap: overlapRecord(fp.synthesis, before, entities, 0),
          ...(library ? { library } : {}),
          provenance: stamp(newProv(planId(req.runId, index)), input, null),
        };
        return output(PlanIssued, data);
      };
      if (req.fixedPlans) {
        if (req.fixedPlans.length !== req.plans) throw new Error(`run ${req.runId}: plans (${req.plans}) must equal the number of fixedPlans (${req.fixedPlans.length})`);
        return req.fixedPlans.map((fp, index) => issueGiven(fp, index, req.fixedPlans!.slice(0, index).map((p) => p.synthesis)));
      }
      const domain = deps.domain(req.domain);
      const patterns = toolPatterns(domain);
      const accepted: SynthesisPlan[] = [];
      const out: PublishEvent[] = [];
      // The domain's plan library (live, like instructions) fills the first slots as given.
      const libKey = valueKey('plan', req.domain);
      const library = input.live ? await input.live.value<PlanLibrary>(libKey, PlanLibrarySchema) : null;
      const fromLibrary = Math.min(library?.value.length ?? 0, req.plans);
      for (let index = 0; index < fromLibrary; index++) {
        const fp = library!.value[index];
        out.push(issueGiven(fp, index, accepted, { key: libKey, revision: library!.revision, index }));
        accepted.push(fp.synthesis);
      }
      const policy = domain.policy().slice(0, 1500);
      const tiers = tierSlots(req.plans, params.tierQuotas);
      for (let index = fromLibrary; index < req.plans; index++) {
        const id = planId(req.runId, index);
        const tier = tiers[index];
        let prov = stamp(newProv(id), input, deps.llm.config.model);
        let best: { plans: ReturnType<typeof toPlans>; sim: number } | null = null;
        const problems: string[] = [];
        const attempts = deps.attempts ?? 3;
        let tries = 0;
        for (; tries < attempts; tries++) {
          const earlier = accepted.map((p, i) => `${i + 1}. kind=${p.taskKind ?? 'write'}; tier=${p.tier}; patterns=${p.toolPatterns.join(', ')}; style=${p.userStyle}; goal=${p.goal}`).join('\n');
          const ans = await askJson<PlanAnswer>(deps.llm, {
            system: input.instructions?.text ?? '',
            user: `Domain: ${req.domain}\nPolicy (excerpt):\n${policy}\n\nTool-use patterns available: ${patterns.join(', ')}\n\nEarlier plans:\n${earlier || '(none)'}\n\nWrite plan number ${index + 1}.${tier ? ` Its tier must be "${tier}".` : ''}`,
            name: 'plan',
            schema: planAnswerSchema(patterns, tier),
            maxTokens: params.maxTokens ?? 320,
            seed: itemSeed(prov, tries, index * 101 + tries),
            temperature: params.temperature ?? 0.9,
          });
          prov = addTokens(prov, ans.tokens);
          if (ans.model) prov = stamp(prov, input, ans.model);
          if (!ans.value) {
            problems.push(`attempt ${tries + 1}: ${ans.error}`);
            continue;
          }
          const plans = toPlans(ans.value);
          const sim = maxSimilarity(plans.synthesis, accepted, entities);
          if (sim >= PLAN_OVERLAP_THRESHOLD) {
            problems.push(`attempt ${tries + 1}: too similar to an earlier plan (signature similarity ${sim.toFixed(2)} ≥ ${PLAN_OVERLAP_THRESHOLD})`);
            if (!best || sim < best.sim) best = { plans, sim };
            continue;
          }
          best = { plans, sim };
          break;
        }
        const ok = best !== null && best.sim < PLAN_OVERLAP_THRESHOLD;
        const fallback: ReturnType<typeof toPlans> = best?.plans ?? { synthesis: { tier: tier ?? ('easy' as const), toolPatterns: [patterns[0]], userStyle: 'polite', persona: '', goal: '' }, evaluation: { rubric: ['-'], failureTaxonomy: ['-'] } };
        if (ok) accepted.push(fallback.synthesis);
        const data: PlanIssuedData = {
          ...slot(index),
          synthesis: fallback.synthesis,
          evaluation: fallback.evaluation,
          overlap: { ...overlapRecord(fallback.synthesis, ok ? accepted.slice(0, -1) : accepted, entities, Math.min(tries + 1, attempts)), ...(best ? {} : { maxSimilarity: 1 }) },
          ...(ok ? {} : { rejected: problems.length ? problems : ['no plan'] }),
          provenance: prov,
        };
        out.push(output(PlanIssued, data));
      }
      return out;
    },
  });
}

/** For `troupe worker --roles meta-planner`: the model from the environment (see workerLlm). */
/** Seeded into the instructions bucket by a worker when the role's key is unset. */
export const defaultInstructions = DEFAULT_INSTRUCTIONS['meta-planner'];

export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  return metaPlannerRole({ domain: getDomain, llm: workerLlm('meta-planner', ctx) });
}
