// The critic role. Task verification: `synth.task.proposed` → accept (`synth.task.accepted`),
// revise (`synth.task.revise`, at most `maxRevisions` rounds) or reject (`synth.item.dropped`, stage
// "critic"). Deterministic checks come first; the model reviews only what passed them.
// Blame attribution: `synth.dialogue.failed` → `synth.failure.reported`.
// Per item, `params.critic` may set sampling, `votes` (odd number of model reviews; the verdict most
// of them gave wins, a tie goes to the stricter verdict) and `maxRevisions` (else the run's value).
// Items of a validation run are checked against the accepted signatures but never added to them.
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ACCEPTED_TASKS_BUCKET,
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
import { LOCAL_MODEL, type LlmClient } from '../../llm/client/index.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { getDomain } from '../../domains/registry.ts';
import type { RoleContext, RoleDefinition } from '../../runtime/host/role.ts';
import { renderUserScenario } from '../../domains/tasks/scenario.ts';
import { askJson } from '../kit/ask-json.ts';
import { addTokens, itemSeed, roleParams, stamp, workRole, workerLlm } from '../kit/work-role.ts';
import { deterministicChecks } from '../kit/task-checks.ts';
import { DEFAULT_INSTRUCTIONS } from '../kit/instructions.ts';
import { storeReplicas } from '../../runtime/nats/streams.ts';

export interface CriticDeps {
  domain: (name: string) => DomainSpec;
  llm: LlmClient;
  /** Signatures of accepted tasks (near-duplicate check), shared by all critic replicas. */
  accepted: KV;
  /** `false`: deterministic checks only (no model review), e.g. when the model is too small to judge. */
  review?: boolean;
  /**
   * Whether the model review may turn a task the deterministic checks passed into revise/reject:
   * `cited` (only when a reason cites a rule: quotes the domain policy or names a check), `never`
   * (the review is recorded as advisory). Default: `never` on the embedded model ("local", a 135M
   * model whose verdicts are noise: it rejected every task with reasons like a date), else `cited`.
   */
  veto?: 'cited' | 'never';
}

/** The veto rule in force: the configured one, else by model (see CriticDeps.veto). */
export function vetoRule(deps: Pick<CriticDeps, 'veto' | 'llm'>): 'cited' | 'never' {
  return deps.veto ?? (deps.llm.config.model === LOCAL_MODEL ? 'never' : 'cited');
}

const words = (t: string) => t.toLowerCase().match(/[a-z0-9]+/g) ?? [];

/**
 * Guard: does this reason cite a rule? It names one of the deterministic checks, or quotes the policy
 * (four consecutive words of one policy line, or a whole policy line of fewer words).
 */
export function citesRule(reason: string, policy: string, checkNames: readonly string[]): boolean {
  const r = ` ${words(reason).join(' ')} `;
  if (checkNames.some((n) => r.includes(` ${words(n).join(' ')} `))) return true;
  for (const line of policy.split('\n')) {
    const w = words(line.replace(/^\s*(\d+[.)]|[-*])\s*/, ''));
    if (!w.length) continue;
    const n = Math.min(4, w.length);
    if (n < 3) continue;
    for (let i = 0; i + n <= w.length; i++) if (r.includes(` ${w.slice(i, i + n).join(' ')} `)) return true;
  }
  return false;
}

/** Guard: may the review's verdict stand against deterministic checks that all passed? */
export function reviewMayVeto(rule: 'cited' | 'never', verdict: Verdict, reasons: readonly string[], policy: string, checkNames: readonly string[]): boolean {
  if (verdict === 'accept') return true;
  if (rule === 'never') return false;
  return reasons.some((x) => citesRule(x, policy, checkNames));
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

/** The KV bucket of accepted-task signatures, shared by every critic replica (created if missing). */
export function openAcceptedTasks(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).create(ACCEPTED_TASKS_BUCKET, { history: 1, storage: 'file' as never, replicas: storeReplicas(nc) });
}

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

/** The task as the critic's model sees it, with the stream's evaluation plan (rubric) it is judged by. */
function describeTask(p: TaskProposal): string {
  const acts = (p.task.evaluation_criteria?.actions ?? []).map((a) => `${a.name}(${JSON.stringify(a.arguments)})`).join('; ');
  const kind = p.intent?.kind ?? p.plan.synthesis.taskKind ?? 'write';
  const extra =
    kind === 'info' ? `\nThe agent must tell the user: ${(p.intent?.communicate ?? []).join('; ')}` : kind === 'refusal' ? `\nThe user asks for (the policy must forbid it, the agent must refuse): ${(p.intent?.forbidden ?? []).map((f) => `${f.name}(${JSON.stringify(f.arguments)})`).join('; ')}` : '';
  return `Plan goal: ${p.plan.synthesis.goal}\nTask kind: ${kind}\nRubric: ${p.plan.evaluation.rubric.join('; ')}\nUser scenario:\n${renderUserScenario(p.task)}\nGold actions: ${acts}${extra}`;
}

async function review(deps: CriticDeps, input: RoleInput<TaskProposal>) {
  const p = input.data;
  const domain = deps.domain(p.domain);
  const det = deterministicChecks(domain, p.task, await acceptedSignatures(deps.accepted, p.domain), p.intent);
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
    const params = roleParams(input);
    const votes = params.votes ?? 1;
    const answers: { verdict: Verdict; reasons: string[] }[] = [];
    const errors: string[] = [];
    for (let k = 0; k < votes; k++) {
      const ans = await askJson<{ verdict: Verdict; reasons: string[] }>(deps.llm, {
        system: input.instructions?.text ?? '',
        user: `Domain policy (excerpt):\n${domain.policy().slice(0, 1500)}\n\nTask:\n${describeTask(p)}\n\nYour verdict?`,
        name: 'critic_review',
        schema: reviewSchema,
        maxTokens: params.maxTokens ?? 160,
        temperature: params.temperature ?? 0,
        // Each vote its own seed (only matters with a temperature above 0).
        seed: itemSeed(prov, p.round * 16 + k, votes > 1 ? k : undefined),
      });
      prov = stamp(addTokens(prov, ans.tokens), input, ans.model);
      if (ans.value) answers.push({ verdict: ans.value.verdict, reasons: ans.value.reasons });
      else errors.push(ans.error ?? 'no answer');
    }
    if (answers.length) {
      const v = majorityVerdict(answers.map((a) => a.verdict));
      const winners = answers.filter((a) => a.verdict === v);
      rev = { verdict: v, reasons: winners.flatMap((a) => a.reasons) };
      const rule = vetoRule(deps);
      if (reviewMayVeto(rule, v, rev.reasons, domain.policy(), det.checks.map((c) => c.name))) {
        verdict = v;
        reasons = rev.reasons.map((r) => `review: ${r}`);
      } else {
        // The deterministic checks passed and the review's objection cites no rule (or this model may
        // not veto): the task goes on, and the record keeps what the review said.
        verdict = 'accept';
        reasons = [
          rule === 'never'
            ? `deterministic checks passed; model review (${v}) is advisory on the embedded model`
            : `deterministic checks passed; model review (${v}) overruled: no reason cites a policy rule or a check`,
          ...rev.reasons.map((r) => `review (advisory): ${r}`),
        ];
      }
      if (votes > 1) reasons.push(`votes: ${(['accept', 'revise', 'reject'] as const).map((x) => `${x} ${answers.filter((a) => a.verdict === x).length}`).join(', ')}${errors.length ? `, no answer ${errors.length}` : ''}`);
    } else {
      // No usable review: the deterministic checks passed, so the task goes on, and the record says so.
      verdict = 'accept';
      reasons = [`review unavailable (${errors.join('; ')}); accepted on the deterministic checks`];
    }
  }
  const maxRevisions = roleParams(input).maxRevisions ?? p.plan.maxRevisions;
  if (verdict === 'revise' && p.round >= maxRevisions) {
    verdict = 'reject';
    reasons = [...reasons, `no revision rounds left (${maxRevisions} allowed)`];
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
        // A validation run measures; it must not make later tasks look like duplicates of its own.
        if (!p.provenance.validation) await deps.accepted.put(`${p.domain}.${p.task.id}`, JSON.stringify({ id: p.task.id, signature: r.det.signature }));
        return [output(TaskAccepted, next)];
      }
      if (r.verdict === 'revise') return [output(TaskReviseRequested, next)];
      return [output(ItemDropped, { runId: p.runId, planId: p.planId, itemId: p.itemId, stage: 'critic', reasons: r.v.reasons, detail: { task: p.task, verdicts: r.verdicts }, provenance: r.prov })];
    },
  });
}

const STRICTNESS: Record<Verdict, number> = { accept: 0, revise: 1, reject: 2 };

/** The verdict most votes gave; among equally many, the stricter one. */
export function majorityVerdict(votes: readonly Verdict[]): Verdict {
  if (!votes.length) throw new Error('majorityVerdict: no votes');
  const n = (v: Verdict) => votes.filter((x) => x === v).length;
  return (['accept', 'revise', 'reject'] as const).reduce((best, v) => (n(v) > n(best) || (n(v) === n(best) && STRICTNESS[v] > STRICTNESS[best]) ? v : best));
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
    maxTokens: roleParams(input).maxTokens ?? 160,
    temperature: roleParams(input).temperature ?? 0,
    seed: itemSeed(f.provenance, 1000),
  });
  let prov = stamp(addTokens(f.provenance, ans.tokens), input, ans.model);
  prov = stamp(prov, input, ans.model, 'critic-blame');
  // The task passed gold replay and checker validation, so without a usable answer the trajectory is
  // the default culprit; the reason says the attribution was not the model's.
  const blame: Blame = ans.value ?? { blame: 'trajectory', kind: 'unattributed', reason: `blame model gave no usable answer (${ans.error})` };
  return output(FailureReported, { ...f, blame, provenance: prov });
}

/** For `troupe worker --roles critic`: the model from the environment (see workerLlm); TROUPE_CRITIC_REVIEW=off for checks only. */
/** Seeded into the instructions bucket by a worker when the role's key is unset. */
export const defaultInstructions = DEFAULT_INSTRUCTIONS.critic;

export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  return criticRole({ domain: getDomain, llm: workerLlm('critic', ctx), accepted: await openAcceptedTasks(ctx.nc), ...criticModeFromEnv() });
}

/** TROUPE_CRITIC_REVIEW: `off` (checks only), `advisory` (review never vetoes), `veto` (vetoes citing a rule); unset: by model. */
export function criticModeFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<CriticDeps, 'review' | 'veto'> {
  const v = env.TROUPE_CRITIC_REVIEW;
  if (v === undefined || v === '' || v === 'llm') return { review: true };
  if (v === 'off') return { review: false };
  if (v === 'advisory') return { review: true, veto: 'never' };
  if (v === 'veto') return { review: true, veto: 'cited' };
  throw new Error(`TROUPE_CRITIC_REVIEW must be off, advisory, veto or llm (got "${v}")`);
}
