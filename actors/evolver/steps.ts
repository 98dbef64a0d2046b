// The evolver's effects, one function per state of a round (machine.ts sequences them):
// produce (a production synthesis run) → collect failures (from the JetStream stream) → reflect
// (candidate revision from the evolver's model) → validate (candidate arm beside current arm, same
// plans and seed, concurrently in the same society) → decide (promotion rule, archive) → record
// (promote or discard with lineage, restore the archive's best when the live one fell behind, publish
// the round on the bus).
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { EVOLVER_ARCHIVE_KEY, EvolverRoundCompleted, type ArmOutcome, type EvolverRound } from '../../protocols/evolver.ts';
import { Bus, defaultSender } from '../../runtime/nats/bus.ts';
import { candidateKey, candidateParamsKey, getEntry, getInstructions, getValue, promoteCandidate, putValue, rollbackEntry, setEntry, unifiedDiff, valueKey } from '../../runtime/instructions/index.ts';
import { SynthRoleParamsSchema, type SynthRoleParams } from '../../protocols/synthesis.ts';
import type { LlmClient } from '../../llm/client/index.ts';
import type { FunnelSummary } from '../kit/funnel.ts';
import { chooseTarget, EVOLVABLE_ROLES, failureRecords, failuresByRole, groupFailures, type EvolvableRole, type FailureGroup } from './failures.ts';
import { ArchiveSchema, archiveMeasurement, bestArchived, decidePromotion, diffStandardError, type Archive, type BatchOutcome, type PromotionDecision } from './promotion.ts';
import { reflect, writeCandidate } from './reflect.ts';
import { PROPOSAL_KINDS, proposeParams, type ParamsProposal, type ProposalKind } from './params.ts';
import { batchOutcome, readRunFromStream, runSynthesis, type FixedPlan, type RunResult } from './run.ts';

export interface EvolveConfig {
  sessionId: string;
  domain: string;
  rounds: number;
  plans: number;
  tasksPerPlan: number;
  /** Items per validation arm. */
  validationSize: number;
  maxRevisions: number;
  seed: number;
  /** Per synthesis run. */
  timeoutMs: number;
  /** false: production runs only (the baseline without the evolver). */
  evolve: boolean;
  /** Plans for every production run (else round 1's plans are kept when `samePlans`, or new ones are written each round). */
  fixedPlans?: FixedPlan[];
  samePlans: boolean;
  roles: readonly EvolvableRole[];
  /** Restore-if-behind (archive, unpaired): a gap must exceed z standard errors. */
  z: number;
  /** The paired test's threshold for promotion (paired.ts; default 0.5: no more losses than wins). */
  alpha?: number;
  archiveSize: number;
  /** Reflection answers tried per round. */
  reflectAttempts: number;
  /** `evolver/<instance>` is the author of candidates, promotions and rollbacks. */
  instance: string;
  /** What a round may propose (default both): a parameters revision by rule, else an instructions rewrite. */
  kinds?: readonly ProposalKind[];
}

export interface EvolverEnv {
  nc: NatsConnection;
  kv: KV;
  llm: LlmClient;
  log: (line: string) => void;
  onProgress?: (what: string, s: FunnelSummary, elapsedMs: number) => void;
}

/** What the report needs from a run (its summary without the bulky per-item lists). */
export interface RunDigest {
  runId: string;
  summary: Omit<FunnelSummary, 'dropReasons' | 'failures'>;
  outcome: BatchOutcome;
  complete: boolean;
  seconds: number;
}

export interface RoundRecord {
  round: number;
  production: RunDigest;
  /** The plans the production run issued (what validation replayed; `--plans-file` can replay them). */
  plans: FixedPlan[];
  failures: { total: number; byRole: Record<string, number>; groups: { kind: string; role: string | null; count: number }[] };
  target: EvolvableRole | null;
  /** What this round proposed for the target (absent when there was no candidate). */
  kind?: ProposalKind;
  candidate?: { kind: ProposalKind; key: string; revision: number; parent: number; rationale: string; addresses: string[]; attempts: number; problems: string[]; rule?: string };
  reflectProblems?: string[];
  validation?: { current: RunDigest & { revision: number }; candidate: RunDigest & { revision: number } };
  decision?: PromotionDecision;
  outcome: EvolverRound['outcome'];
  reason: string;
  /** Unified diff of the promoted revision against the one it replaced (indented JSON for parameters). */
  promotedDiff?: string;
  liveRevision: number | null;
  /** Roles whose archived best revision was restored after this round's decision. */
  /** `role` is the key restored: a role's instructions, or `params.<role>`. */
  restored?: { role: string; from: number; revision: number }[];
  evolverTokens: { prompt: number; completion: number };
}

export function digest(r: RunResult): RunDigest {
  const { dropReasons, failures, ...summary } = r.summary;
  return { runId: r.runId, summary, outcome: batchOutcome(r), complete: r.complete, seconds: Math.round((r.endedAt - r.startedAt) / 1000) };
}

const author = (cfg: EvolveConfig) => `evolver/${cfg.instance}`;

// ---------------------------------------------------------------------------------------------
// produce

/** A production run with the revisions of the evolvable roles that were live when it started. */
export type Production = RunResult & { live: Record<string, number> };

export async function liveRevisions(kv: KV, roles: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const role of roles) {
    const i = await getInstructions(kv, role);
    if (i) out[role] = i.revision;
    const p = await kv.get(paramsKeyOf(role));
    if (p && p.operation === 'PUT') out[paramsKeyOf(role)] = p.revision;
  }
  return out;
}

export async function produce(env: EvolverEnv, cfg: EvolveConfig, round: number, plans: FixedPlan[] | undefined): Promise<Production> {
  const runId = `${cfg.sessionId}-r${round}`;
  const live = await liveRevisions(env.kv, cfg.roles);
  const fixed = plans ?? cfg.fixedPlans;
  env.log(`[evolve] round ${round}/${cfg.rounds}: production run ${runId} (${fixed?.length ?? cfg.plans} plan(s) × ${cfg.tasksPerPlan})`);
  const r = await runSynthesis(
    env.nc,
    {
      runId,
      domain: cfg.domain,
      plans: fixed?.length ?? cfg.plans,
      tasksPerPlan: cfg.tasksPerPlan,
      maxRevisions: cfg.maxRevisions,
      seed: cfg.seed + 1000 * round,
      // Its items read at least the revisions it is credited to (creditProduction), however far
      // behind a host's live view of the bucket is (a promotion written a moment ago).
      ...(Object.keys(live).length ? { revisions: live } : {}),
      ...(fixed ? { fixedPlans: fixed } : {}),
    },
    { timeoutMs: cfg.timeoutMs, onProgress: (s, ms) => env.onProgress?.(`round ${round} production`, s, ms), progressEveryMs: 10_000 },
  );
  if (!r.complete) env.log(`[evolve] round ${round}: production run ${runId} timed out with ${r.summary.items - r.summary.terminal} item(s) unfinished`);
  return { ...r, live };
}

// ---------------------------------------------------------------------------------------------
// collect failures

export interface Collected {
  total: number;
  byRole: Record<string, number>;
  groups: FailureGroup[];
  target: { role: EvolvableRole; groups: FailureGroup[] } | null;
}

export async function collectFailures(env: EvolverEnv, cfg: EvolveConfig, runId: string, since?: number): Promise<Collected> {
  const msgs = await readRunFromStream(env.nc, runId, undefined, since);
  const records = failureRecords(msgs, runId);
  const groups = groupFailures(records);
  const target = chooseTarget(groups, cfg.roles);
  env.log(
    `[evolve] ${runId}: ${records.length} failure(s) in ${groups.length} kind(s)` +
      (groups.length ? ` (${groups.map((g) => `${g.kind}→${g.role ?? '-'}:${g.ids.length}`).join(', ')})` : '') +
      (target ? `; target ${target.role}` : '; no role to rewrite'),
  );
  return { total: records.length, byRole: failuresByRole(records), groups, target };
}

// ---------------------------------------------------------------------------------------------
// reflect

export const paramsKeyOf = (role: string) => valueKey('params', role);

export interface Candidate {
  kind: ProposalKind;
  role: EvolvableRole;
  /** The live key it would replace: `<role>` or `params.<role>`. */
  key: string;
  /** Where it waits: `candidate.<role>` or `candidate.params-<role>`. */
  candidateKey: string;
  revision: number;
  /** The revision of `key` it was derived from. */
  parent: number;
  /** Current and candidate payload as text (instructions, or the parameters as indented JSON). */
  currentText: string;
  text: string;
  /** For a parameters candidate: the live parameters and the proposed ones. */
  currentParams?: SynthRoleParams;
  params?: SynthRoleParams;
  /** The parameter rule that fired. */
  rule?: string;
  rationale: string;
  addresses: string[];
  attempts: number;
  problems: string[];
  tokens: { prompt: number; completion: number };
}

type ReflectOut = { candidate: Candidate | null; problems: string[]; tokens: { prompt: number; completion: number } };

const pretty = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

/**
 * The round's proposal for the target role: a parameters revision when a rule fires on the failure
 * mix (params.ts), else the evolver model's rewrite of the role's instructions.
 */
export async function reflectStep(env: EvolverEnv, cfg: EvolveConfig, round: number, target: { role: EvolvableRole; groups: FailureGroup[] }): Promise<ReflectOut> {
  const kinds = cfg.kinds ?? PROPOSAL_KINDS;
  if (kinds.includes('params')) {
    const p = await paramsStep(env, cfg, round, target);
    if (p) return p;
  }
  if (!kinds.includes('instructions')) return { candidate: null, problems: [`no parameter rule fits the failures of ${target.role}, and instructions rewrites are off`], tokens: { prompt: 0, completion: 0 } };
  return instructionsStep(env, cfg, round, target);
}

/** The live parameters of a role; `{}` (all built-in defaults) is written first when it has none, so every arm has a revision to name. */
async function liveParams(env: EvolverEnv, cfg: EvolveConfig, role: EvolvableRole): Promise<{ revision: number; value: SynthRoleParams }> {
  const cur = await getValue(env.kv, paramsKeyOf(role), SynthRoleParamsSchema);
  if (cur) return { revision: cur.revision, value: cur.value };
  const v = await putValue(env.kv, paramsKeyOf(role), SynthRoleParamsSchema, {}, { author: author(cfg), rationale: 'the built-in defaults, written as the parent of the evolver\'s parameter revisions' });
  return { revision: v.revision, value: v.value };
}

/** The parameters of the last candidate validation discarded (the discard names it as its parent). */
async function lastDiscarded(env: EvolverEnv, role: string): Promise<SynthRoleParams | null> {
  const last = await getEntry(env.kv, candidateParamsKey(role));
  if (!last || last.lineage.action !== 'rollback' || !last.lineage.parent) return null;
  const parsed = SynthRoleParamsSchema.safeParse((await getEntry(env.kv, candidateParamsKey(role), last.lineage.parent))?.payload);
  return parsed.success ? parsed.data : null;
}

async function paramsStep(env: EvolverEnv, cfg: EvolveConfig, round: number, target: { role: EvolvableRole; groups: FailureGroup[] }): Promise<ReflectOut | null> {
  const cur = await getValue(env.kv, paramsKeyOf(target.role), SynthRoleParamsSchema);
  const proposal: ParamsProposal | null = proposeParams({ role: target.role, groups: target.groups, current: cur?.value ?? {}, runMaxRevisions: cfg.maxRevisions, lastDiscarded: await lastDiscarded(env, target.role) });
  if (!proposal) return null;
  const live = await liveParams(env, cfg, target.role);
  const e = await putValue(env.kv, candidateParamsKey(target.role), SynthRoleParamsSchema, proposal.params, { author: author(cfg), rationale: proposal.rationale, failures: proposal.addresses, parent: live.revision });
  env.log(`[evolve] round ${round}: parameters candidate ${e.key}@${e.revision} (${proposal.rule}: ${String(proposal.field)} ${JSON.stringify(proposal.from)} → ${JSON.stringify(proposal.to)}; addresses ${proposal.addresses.length} failure(s))`);
  return {
    candidate: {
      kind: 'params',
      role: target.role,
      key: paramsKeyOf(target.role),
      candidateKey: e.key,
      revision: e.revision,
      parent: live.revision,
      currentText: pretty(live.value),
      text: pretty(proposal.params),
      currentParams: live.value,
      params: proposal.params,
      rule: proposal.rule,
      rationale: proposal.rationale,
      addresses: proposal.addresses,
      attempts: 0,
      problems: [],
      tokens: { prompt: 0, completion: 0 },
    },
    problems: [],
    tokens: { prompt: 0, completion: 0 },
  };
}

async function instructionsStep(env: EvolverEnv, cfg: EvolveConfig, round: number, target: { role: EvolvableRole; groups: FailureGroup[] }): Promise<ReflectOut> {
  const cur = await getInstructions(env.kv, target.role);
  if (!cur) throw new Error(`evolver: role ${target.role} has no instructions in the bucket to rewrite`);
  env.log(`[evolve] round ${round}: asking the evolver's model (${env.llm.config.model}) to rewrite ${target.role}@${cur.revision}`);
  // The evolver's model config (models.evolver) may bound the answer; reflect's own default otherwise.
  const r = await reflect({ llm: env.llm, role: target.role, current: cur.text, groups: target.groups, attempts: cfg.reflectAttempts, seed: cfg.seed + round, maxTokens: env.llm.config.maxTokens, temperature: env.llm.config.temperature });
  if (!r.rewrite) {
    env.log(`[evolve] round ${round}: no usable rewrite after ${r.attempts} attempt(s): ${r.problems.join(' | ').slice(0, 300)}`);
    return { candidate: null, problems: r.problems, tokens: r.tokens };
  }
  const e = await writeCandidate(env.kv, target.role, r.rewrite, { author: author(cfg), parent: cur.revision });
  env.log(`[evolve] round ${round}: candidate ${e.key}@${e.revision} (addresses ${r.rewrite.addresses.length} failure(s))`);
  return {
    candidate: { kind: 'instructions', role: target.role, key: target.role, candidateKey: candidateKey(target.role), revision: e.revision, parent: cur.revision, currentText: cur.text, text: r.rewrite.text, rationale: r.rewrite.rationale, addresses: r.rewrite.addresses, attempts: r.attempts, problems: r.problems, tokens: r.tokens },
    problems: r.problems,
    tokens: r.tokens,
  };
}

// ---------------------------------------------------------------------------------------------
// validate

/** How a validation batch of `size` items is laid out over the production plans. */
export function validationLayout(plans: number, size: number): { plans: number; tasksPerPlan: number } {
  if (plans < 1) throw new Error('validation needs at least one plan');
  const p = Math.min(plans, size);
  return { plans: p, tasksPerPlan: Math.ceil(size / p) };
}

/**
 * The validation batch's shape. Normally the production run's plans, fixed, so both arms draft from
 * the same plans. A meta-planner candidate (instructions or parameters) is only measured when it
 * writes the plans, so its arms ask the planner for `cfg.plans`-capped plans instead (same seed in
 * both arms; the overlap check is per run, so the arms do not interfere).
 */
export function validationRequest(role: EvolvableRole, plans: FixedPlan[], cfg: Pick<EvolveConfig, 'plans' | 'validationSize'>): { plans: number; tasksPerPlan: number; fixedPlans?: FixedPlan[] } {
  if (role === 'meta-planner') return validationLayout(cfg.plans, cfg.validationSize);
  const layout = validationLayout(plans.length, cfg.validationSize);
  return { ...layout, fixedPlans: plans.slice(0, layout.plans) };
}

export async function validate(env: EvolverEnv, cfg: EvolveConfig, round: number, cand: Candidate, plans: FixedPlan[]): Promise<{ current: RunResult; candidate: RunResult; currentRevision: number }> {
  const layout = validationRequest(cand.role, plans, cfg);
  const seed = cfg.seed + 1000 * round + 500;
  const currentRevision = (await env.kv.get(cand.key))?.revision ?? cand.parent;
  // Both arms read at least the revisions live now (the current arm: `currentRevision` of the key),
  // the candidate arm its candidate revision: what the decision and the archive credit.
  const live = { ...(await liveRevisions(env.kv, cfg.roles)), [cand.key]: currentRevision };
  const base = { domain: cfg.domain, plans: layout.plans, tasksPerPlan: layout.tasksPerPlan, maxRevisions: cfg.maxRevisions, ...(layout.fixedPlans ? { fixedPlans: layout.fixedPlans } : {}), seed, validation: true };
  const overrides = cand.kind === 'params' ? { params: { [cand.role]: cand.candidateKey } } : { instructions: { [cand.role]: cand.candidateKey } };
  env.log(`[evolve] round ${round}: validating ${cand.key}: current @${currentRevision} vs ${cand.candidateKey}@${cand.revision}, ${layout.plans} ${layout.fixedPlans ? 'fixed' : 'new'} plan(s) × ${layout.tasksPerPlan} per arm, seed ${seed}`);
  const progress = (arm: string) => (s: FunnelSummary, ms: number) => env.onProgress?.(`round ${round} ${arm} arm`, s, ms);
  const [current, candidate] = await Promise.all([
    runSynthesis(env.nc, { ...base, runId: `${cfg.sessionId}-r${round}-current`, revisions: live }, { timeoutMs: cfg.timeoutMs, onProgress: progress('current'), progressEveryMs: 15_000 }),
    runSynthesis(env.nc, { ...base, runId: `${cfg.sessionId}-r${round}-candidate`, overrides, revisions: { ...live, [cand.candidateKey]: cand.revision } }, { timeoutMs: cfg.timeoutMs, onProgress: progress('candidate'), progressEveryMs: 15_000 }),
  ]);
  return { current, candidate, currentRevision };
}

// ---------------------------------------------------------------------------------------------
// decide

export async function loadArchive(kv: KV): Promise<Archive> {
  return (await getValue(kv, EVOLVER_ARCHIVE_KEY, ArchiveSchema))?.value ?? {};
}

export function decide(cfg: EvolveConfig, current: BatchOutcome, candidate: BatchOutcome): PromotionDecision {
  return decidePromotion(current, candidate, { z: cfg.z, ...(cfg.alpha !== undefined ? { alpha: cfg.alpha } : {}) });
}

// ---------------------------------------------------------------------------------------------
// record

/**
 * Credit a production run's yield to the revision of every evolvable role that was live during it.
 * Production runs are bigger than validation batches, so a revision promoted on a lucky tie soon
 * shows its real yield here, and `restoreAll` can bring the better one back.
 */
export function creditProduction(archive: Archive, prod: Production, round: number, cfg: EvolveConfig): Archive {
  for (const [role, revision] of Object.entries(prod.live)) {
    archive = archiveMeasurement(archive, role, { revision, proposed: prod.summary.items, accepted: prod.summary.dialoguePassed, round }, cfg.archiveSize);
  }
  return archive;
}

/**
 * Apply the decision. Promote: the candidate's text becomes a new revision of the role's key
 * (`action: promote`, the candidate's failures and rationale plus the decision). Roll back: the
 * candidate key gets a revision holding the live text again (`action: rollback`, the rationale saying
 * why), so a discarded candidate is never left waiting there. Both measured arms go into the archive
 * (a rolled-back candidate is not archived: it measured worse).
 */
export async function recordDecision(
  env: EvolverEnv,
  cfg: EvolveConfig,
  round: number,
  cand: Candidate,
  v: { current: RunResult; candidate: RunResult; currentRevision: number },
  decision: PromotionDecision,
  archive: Archive,
): Promise<{ liveRevision: number; promotedDiff?: string; archive: Archive }> {
  const cur = batchOutcome(v.current);
  const cnd = batchOutcome(v.candidate);
  // The archive is keyed by the live key: `<role>` for instructions, `params.<role>` for parameters.
  archive = archiveMeasurement(archive, cand.key, { revision: v.currentRevision, proposed: cur.proposed, accepted: cur.accepted, round }, cfg.archiveSize);
  let liveRevision = v.currentRevision;
  let promotedDiff: string | undefined;
  if (decision.promote) {
    const before = await getEntry(env.kv, cand.key);
    let e: { revision: number };
    if (cand.kind === 'params') {
      // As promoteCandidate does for instructions: the candidate's failures and rationale plus the decision.
      const c = await getValue(env.kv, cand.candidateKey, SynthRoleParamsSchema, cand.revision);
      if (!c || c.revision !== cand.revision) throw new Error(`${cand.candidateKey}: no candidate revision ${cand.revision}`);
      e = await putValue(env.kv, cand.key, SynthRoleParamsSchema, c.value, { author: author(cfg), rationale: [c.lineage.rationale, `round ${round}: ${decision.reason}`].filter(Boolean).join(' — '), failures: c.lineage.failures, action: 'promote' });
    } else {
      e = await promoteCandidate(env.kv, cand.role, cand.revision, { author: author(cfg), reason: `round ${round}: ${decision.reason}` });
    }
    liveRevision = e.revision;
    promotedDiff = unifiedDiff(before?.body ?? '', cand.text, { fromLabel: `${cand.key}@${before?.revision ?? '-'}`, toLabel: `${cand.key}@${e.revision}` });
    archive = archiveMeasurement(archive, cand.key, { revision: e.revision, proposed: cnd.proposed, accepted: cnd.accepted, round }, cfg.archiveSize);
    env.log(`[evolve] round ${round}: PROMOTED ${cand.key}@${e.revision} (from ${cand.candidateKey}@${cand.revision}): ${decision.reason}`);
  } else {
    // Discard: the candidate key gets the live payload back, so nothing bad waits there.
    const live = await getEntry(env.kv, cand.key);
    const payload = cand.kind === 'params' ? (live?.payload ?? cand.currentParams ?? {}) : (live?.body ?? cand.currentText);
    await setEntry(env.kv, cand.candidateKey, payload, {
      author: author(cfg),
      rationale: `discarded candidate @${cand.revision} in round ${round}: ${decision.reason}`,
      failures: cand.addresses,
      parent: cand.revision,
      action: 'rollback',
    });
    env.log(`[evolve] round ${round}: ROLLED BACK candidate ${cand.candidateKey}@${cand.revision}: ${decision.reason}`);
  }
  return { liveRevision, promotedDiff, archive };
}

/** For every role's instructions and parameters: restore the archive's best revision when the live one is clearly behind it. */
export async function restoreAll(env: EvolverEnv, cfg: EvolveConfig, round: number, archive: Archive): Promise<{ role: string; from: number; revision: number }[]> {
  const out: { role: string; from: number; revision: number }[] = [];
  for (const key of cfg.roles.flatMap((role) => [role, paramsKeyOf(role)])) {
    const live = await env.kv.get(key);
    if (!live || live.operation !== 'PUT') continue;
    const r = await restoreIfBehind(env, cfg, round, key, live.revision, archive);
    if (r) out.push({ role: key, ...r });
  }
  return out;
}

export async function storeArchive(env: EvolverEnv, cfg: EvolveConfig, round: number, archive: Archive): Promise<void> {
  await putValue(env.kv, EVOLVER_ARCHIVE_KEY, ArchiveSchema, archive, { author: author(cfg), rationale: `round ${round} of ${cfg.sessionId}` });
}

/** Restore the archive's best revision of `role` when the live one measured clearly worse. */
export async function restoreIfBehind(env: EvolverEnv, cfg: EvolveConfig, round: number, role: string, live: number, archive: Archive): Promise<{ from: number; revision: number } | undefined> {
  const best = bestArchived(archive, role);
  const mine = archive[role]?.find((e) => e.revision === live);
  if (!best || !mine || best.revision === live) return undefined;
  const se = diffStandardError({ successes: best.accepted, trials: best.proposed, p: best.yield }, { successes: mine.accepted, trials: mine.proposed, p: mine.yield });
  if (!(best.yield - mine.yield > cfg.z * se)) return undefined;
  if (!(await getEntry(env.kv, role, best.revision))) return undefined; // older than the bucket's history
  const e = await rollbackEntry(env.kv, role, best.revision, {
    author: author(cfg),
    rationale: `round ${round}: restored the archive's best (${best.accepted}/${best.proposed}) over live @${live} (${mine.accepted}/${mine.proposed}); Δ > ${cfg.z}·SE=${(cfg.z * se).toFixed(3)}`,
  });
  env.log(`[evolve] round ${round}: RESTORED ${role}@${best.revision} from the archive as @${e.revision}`);
  return { from: best.revision, revision: e.revision };
}

export function armOutcome(r: RunResult, revision: number | null): ArmOutcome {
  const { proposed, accepted, checkersTested, checkersDiscriminating } = batchOutcome(r);
  return { runId: r.runId, revision, proposed, accepted, checkersTested, checkersDiscriminating };
}

export async function publishRound(env: EvolverEnv, rec: EvolverRound): Promise<void> {
  await new Bus(env.nc, defaultSender('evolver')).publish(EvolverRoundCompleted, rec, { key: `evolver-round-${rec.sessionId}-${rec.round}` });
}

export { EVOLVABLE_ROLES };
