// The critic role. Task verification: `synth.task.proposed` → accept (`synth.task.accepted`),
// revise (`synth.task.revise`, at most `maxRevisions` rounds) or reject (`synth.item.dropped`, stage
// "critic"). Deterministic checks come first; the model reviews only what passed them.
// Blame attribution: `synth.dialogue.failed` → `synth.failure.reported`.
import type { KV } from '@nats-io/kv';
import {
  DialogueFailed,
  FailureReported,
  ItemDropped,
  TaskAccepted,
  TaskProposed,
  TaskReviseRequested,
  type Blame,
  type CriticVerdict,
  type DialogueFailed as FailedData,
  type TaskProposal,
  type Verdict,
} from '../../protocols/synthesis.ts';
import { output, type PublishEvent, type RoleInput } from '../../runtime/host/role.ts';
import type { LlmClient } from '../../runtime/llm/index.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { renderUserScenario } from '../../domains/tasks/scenario.ts';
import { askJson } from '../synthesis/ask-json.ts';
import { addTokens, stamp, workRole } from '../synthesis/work-role.ts';
import { deterministicChecks } from './checks.ts';

export interface CriticDeps {
  domain: (name: string) => DomainSpec;
  llm: LlmClient;
  /** Signatures of accepted tasks (near-duplicate check), shared by all critic replicas. */
  accepted: KV;
  /** `false`: deterministic checks only (no model review), e.g. when the model is too small to judge. */
  review?: boolean;
}

const reviewSchema = {
  type: 'object',
  additionalProperties: false,
  // Reasons before the verdict: the model writes its review first and decides after it.
  required: ['reasons', 'verdict'],
  properties: {
    reasons: { type: 'array', items: { type: 'string', maxLength: 140 }, minItems: 1, maxItems: 3 },
    verdict: { type: 'string', enum: ['accept', 'revise', 'reject'] },
  },
};

async function acceptedSignatures(kv: KV, domain: string): Promise<{ id: string; signature: string[] }[]> {
  const out: { id: string; signature: string[] }[] = [];
  const keys: string[] = [];
  for await (const k of await kv.keys(`${domain}.>`)) keys.push(k);
  for (const k of keys) {
    const e = await kv.get(k);
    if (e && e.operation === 'PUT') out.push(e.json() as { id: string; signature: string[] });
  }
  return out;
}

function describeTask(p: TaskProposal): string {
  const acts = (p.task.evaluation_criteria?.actions ?? []).map((a) => `${a.name}(${JSON.stringify(a.arguments)})`).join('; ');
  return `Plan goal: ${p.plan.synthesis.goal}\nUser scenario:\n${renderUserScenario(p.task)}\nGold actions: ${acts}`;
}

async function review(deps: CriticDeps, input: RoleInput<TaskProposal>) {
  const p = input.data;
  const domain = deps.domain(p.domain);
  const det = deterministicChecks(domain, p.task, await acceptedSignatures(deps.accepted, p.domain));
  let prov = p.provenance;
  let rev: CriticVerdict['review'] = null;
  let verdict: Verdict;
  let reasons: string[];
  if (!det.ok) {
    const failed = det.checks.filter((c) => !c.ok);
    reasons = failed.map((c) => `${c.name}: ${c.detail}`);
    verdict = 'revise';
  } else if (deps.review === false) {
    verdict = 'accept';
    reasons = ['deterministic checks passed (model review switched off)'];
  } else {
    const ans = await askJson<{ verdict: Verdict; reasons: string[] }>(deps.llm, {
      system: input.instructions?.text ?? '',
      user: `Domain policy (excerpt):\n${domain.policy().slice(0, 1500)}\n\nTask:\n${describeTask(p)}\n\nYour verdict?`,
      name: 'critic_review',
      schema: reviewSchema,
      maxTokens: 160,
      temperature: 0,
    });
    prov = stamp(addTokens(prov, ans.tokens), input, ans.model);
    if (ans.value) {
      rev = { verdict: ans.value.verdict, reasons: ans.value.reasons };
      verdict = ans.value.verdict;
      reasons = ans.value.reasons.map((r) => `review: ${r}`);
    } else {
      // No usable review: the deterministic checks passed, so the task goes on, and the record says so.
      verdict = 'accept';
      reasons = [`review unavailable (${ans.error}); accepted on the deterministic checks`];
    }
  }
  if (verdict === 'revise' && p.round >= p.plan.maxRevisions) {
    verdict = 'reject';
    reasons = [...reasons, `no revision rounds left (${p.plan.maxRevisions} allowed)`];
  }
  prov = stamp(prov, input, prov.roles.critic?.model ?? null);
  const v: CriticVerdict = { round: p.round, verdict, checks: det.checks, review: rev, reasons };
  const prior = (p as Partial<{ verdicts: CriticVerdict[] }>).verdicts ?? [];
  return { det, verdict, v, prov, verdicts: [...prior, v] };
}

export function criticRole(deps: CriticDeps) {
  return workRole<TaskProposal | FailedData>({
    name: 'critic',
    impl: 'critic@1',
    consumes: [TaskProposed, DialogueFailed],
    produces: [TaskAccepted, TaskReviseRequested, ItemDropped, FailureReported],
    concurrency: 2,
    async run(input): Promise<PublishEvent[]> {
      if (input.message.kind === DialogueFailed.kind) return [await attributeBlame(deps, input.data as FailedData, input)];
      const p = input.data as TaskProposal & { verdicts?: CriticVerdict[] };
      const r = await review(deps, input as never);
      const next = { ...p, provenance: r.prov, verdicts: r.verdicts };
      if (r.verdict === 'accept') {
        await deps.accepted.put(`${p.domain}.${p.task.id}`, JSON.stringify({ id: p.task.id, signature: r.det.signature }));
        return [output(TaskAccepted, next)];
      }
      if (r.verdict === 'revise') return [output(TaskReviseRequested, next)];
      return [output(ItemDropped, { runId: p.runId, planId: p.planId, itemId: p.itemId, stage: 'critic', reasons: r.v.reasons, detail: { task: p.task, verdicts: r.verdicts }, provenance: r.prov })];
    },
  });
}

const blameSchema = (taxonomy: string[]) => ({
  type: 'object',
  additionalProperties: false,
  required: ['reason', 'kind', 'blame'],
  properties: {
    reason: { type: 'string', maxLength: 200 },
    kind: { type: 'string', enum: taxonomy.length ? taxonomy : ['unspecified'] },
    blame: { type: 'string', enum: ['task', 'trajectory'] },
  },
});

function transcript(f: FailedData): string {
  return f.dialogue.messages
    .map((m) => {
      const x = m as { role: string; content?: string | null; tool_calls?: { name: string; arguments: unknown }[] | null };
      const calls = (x.tool_calls ?? []).map((c) => `${c.name}(${JSON.stringify(c.arguments)})`).join(' ');
      return `${x.role}: ${(x.content ?? '').slice(0, 300)}${calls ? ` [calls ${calls}]` : ''}`;
    })
    .slice(-30)
    .join('\n');
}

/** Blame after a failed dialogue: the model's call, constrained to the plan's failure taxonomy. */
async function attributeBlame(deps: CriticDeps, f: FailedData, input: RoleInput<unknown>): Promise<PublishEvent> {
  const taxonomy = f.plan.evaluation.failureTaxonomy;
  const ans = await askJson<Blame>(deps.llm, {
    system: input.instructions?.text ?? '',
    user: `Task:\n${describeTask(f)}\n\nDialogue (ended: ${f.dialogue.terminationReason}):\n${transcript(f)}\n\nChecker reasons: ${f.checkerRun.reasons.join('; ')}\n\nWho is to blame?`,
    name: 'blame',
    schema: blameSchema(taxonomy),
    maxTokens: 160,
    temperature: 0,
  });
  let prov = stamp(addTokens(f.provenance, ans.tokens), input, ans.model);
  prov = stamp(prov, input, ans.model, 'critic-blame');
  // The task passed gold replay and checker validation, so without a usable answer the trajectory is
  // the default culprit; the reason says the attribution was not the model's.
  const blame: Blame = ans.value ?? { blame: 'trajectory', kind: 'unattributed', reason: `blame model gave no usable answer (${ans.error})` };
  return output(FailureReported, { ...f, blame, provenance: prov });
}
