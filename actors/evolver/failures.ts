// Failure intake for the evolver (pure; no I/O). From a run's messages — items dropped with their
// stage and reasons, failed dialogues with the critic's blame, and checker candidates the verifier's
// model wrote that did not validate — build failure records with stable ids, group them by failure
// kind, and say whose instructions could fix each group. Roles whose instructions the evolver does
// not rewrite (the agent, the user simulator) and infrastructure errors get no role: they are
// counted, never targeted.
import type { Envelope } from '../../protocols/envelope.ts';
import type { Checker, CriticVerdict, DatasetRecord, FailureReport, ItemDropped } from '../../protocols/synthesis.ts';

/** Roles with instructions in the KV bucket that the evolver may rewrite. */
export const EVOLVABLE_ROLES = ['scriptwriter', 'critic', 'verifier', 'meta-planner'] as const;
export type EvolvableRole = (typeof EVOLVABLE_ROLES)[number];

export interface FailureRecord {
  /** Stable: `<runId>/<itemId>#<kind>` — the same message always gives the same id. */
  id: string;
  runId: string;
  itemId: string;
  /** Failure kind, `<stage>:<what>` (e.g. `critic:grounded`, `dialogue:task:wrong_value`). */
  kind: string;
  /** Whose instructions can fix it; null when no evolvable role can (agent errors, infrastructure). */
  role: EvolvableRole | null;
  /** One line for the evolver's prompt (bounded). */
  summary: string;
}

export interface FailureGroup {
  kind: string;
  role: EvolvableRole | null;
  ids: string[];
  /** Up to three summaries, for the prompt. */
  examples: string[];
}

const clip = (s: string, n = 220) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** Termination reasons that mean the user simulator broke the rules of the scenario it was given
 * (so does a failure the critic blamed on the user deviating, kind `trajectory:user-deviated`). */
const USER_VIOLATIONS = new Set(['user_error']);
/** Terminations no instruction can fix (the machinery failed). */
const INFRASTRUCTURE = new Set(['infrastructure_error', 'timeout']);

function record(runId: string, itemId: string, kind: string, role: EvolvableRole | null, summary: string): FailureRecord {
  return { id: `${runId}/${itemId}#${kind}`, runId, itemId, kind, role, summary: clip(summary) };
}

/** A critic drop: a failed deterministic check is the draft's fault; a review that rejected a clean draft is the critic's. */
function fromCriticDrop(d: ItemDropped): FailureRecord[] {
  const verdicts = (d.detail?.verdicts ?? []) as CriticVerdict[];
  const last = verdicts[verdicts.length - 1];
  const failed = last?.checks.filter((c) => !c.ok) ?? [];
  if (failed.length) {
    return failed.map((c) => record(d.runId, d.itemId, `critic:${c.name}`, 'scriptwriter', `draft failed the critic's "${c.name}" check: ${c.detail}`));
  }
  if (last?.review?.verdict === 'revise') {
    // The review asked for a revision the run no longer allowed: a workflow parameter (the critic's
    // maxRevisions) decides this one, not the draft.
    return [record(d.runId, d.itemId, 'critic:revise-exhausted', 'critic', `critic review asked for a revision with no revision rounds left: ${d.reasons.join('; ')}`)];
  }
  if (last?.review) {
    // Every deterministic check passed and the model still said no: an over-strict review.
    return [record(d.runId, d.itemId, 'critic:review-rejected', 'critic', `critic review rejected a draft that passed every check: ${last.review.reasons.join('; ')}`)];
  }
  return [record(d.runId, d.itemId, 'critic:rejected', 'scriptwriter', `critic rejected the draft: ${d.reasons.join('; ')}`)];
}

function fromDrop(d: ItemDropped): FailureRecord[] {
  const why = d.reasons.join('; ');
  switch (d.stage) {
    case 'plan':
      return [record(d.runId, d.itemId, /similar/i.test(why) ? 'plan:overlap' : 'plan:unusable', 'meta-planner', `no acceptable plan: ${why}`)];
    case 'draft':
      return [record(d.runId, d.itemId, 'draft:unusable', 'scriptwriter', `no usable draft: ${why}`)];
    case 'critic':
      return fromCriticDrop(d);
    case 'checker':
      // Even the checker compiled from the whole gold diff failed validation (or the task offers no
      // perturbation to test against): the task cannot be checked, which the draft decides.
      return [record(d.runId, d.itemId, 'checker:uncheckable-task', 'scriptwriter', `no valid checker for the task: ${why}`)];
    case 'rollout':
      return [record(d.runId, d.itemId, 'rollout:error', null, `rollout failed: ${why}`)];
  }
}

/** `task:<kind>` / `trajectory:<kind>`, without doubling a prefix the taxonomy already carries. */
function blameKind(b: FailureReport['blame']): string {
  return b.kind.startsWith(`${b.blame}:`) ? b.kind : `${b.blame}:${b.kind}`;
}

function fromFailure(f: FailureReport): FailureRecord[] {
  const t = f.dialogue.terminationReason;
  const checker = f.checkerRun.reasons.join('; ');
  if (INFRASTRUCTURE.has(t)) return [record(f.runId, f.itemId, `dialogue:${t}`, null, `dialogue ended with ${t}: ${checker}`)];
  if (USER_VIOLATIONS.has(t) || /user-deviated/.test(f.blame.kind)) {
    // The simulator plays the scenario the scriptwriter wrote: clearer task instructions are the fix.
    return [record(f.runId, f.itemId, 'dialogue:user-violation', 'scriptwriter', `user simulator broke the scenario (${t}); checker: ${checker}`)];
  }
  if (f.blame.blame === 'task') {
    return [record(f.runId, f.itemId, `dialogue:${blameKind(f.blame)}`, 'scriptwriter', `dialogue failed, task to blame (${f.blame.kind}): ${f.blame.reason}; checker: ${checker}`)];
  }
  return [record(f.runId, f.itemId, `dialogue:${blameKind(f.blame)}`, null, `dialogue failed, trajectory to blame (${f.blame.kind}), ended ${t}: ${f.blame.reason}`)];
}

/** The verifier's model wrote a checker that did not validate (the item may still have gone on with the full-diff checker). */
function fromChecker(runId: string, itemId: string, checker: Checker): FailureRecord[] {
  return checker.rejectedCandidates
    .filter((c) => c.origin.startsWith('llm'))
    .slice(0, 1)
    .map((c) => {
      const bad = c.validation.filter((v) => !v.ok).map((v) => `${v.case} (${v.expectPass ? 'should pass' : 'should fail'}, got ${v.pass ? 'pass' : v.status})`);
      return record(runId, itemId, 'checker:candidate-rejected', 'verifier', `the verifier's checker failed validation on: ${bad.join(', ') || c.origin}`);
    });
}

/**
 * Failure records from a run's messages (any order; duplicates and other runs' messages ignored).
 * Reads `synth.item.dropped`, `synth.failure.reported`, and the checker carried by
 * `synth.failure.reported` / `synth.dataset.record` / `synth.task.ready`.
 */
export function failureRecords(envelopes: Iterable<Envelope<unknown>>, runId?: string): FailureRecord[] {
  const out = new Map<string, FailureRecord>();
  const checked = new Set<string>();
  const add = (rs: FailureRecord[]) => rs.forEach((r) => out.has(r.id) || out.set(r.id, r));
  for (const env of envelopes) {
    const data = env.data as { runId?: string; itemId?: string; checker?: Checker; provenance?: { itemId: string } };
    if (!data || (runId && data.runId !== runId)) continue;
    if (env.kind === 'synth.item.dropped') add(fromDrop(data as ItemDropped));
    else if (env.kind === 'synth.failure.reported') add(fromFailure(data as FailureReport));
    const itemId = data.itemId ?? data.provenance?.itemId;
    if (data.checker && itemId && data.runId && !checked.has(itemId)) {
      checked.add(itemId);
      add(fromChecker(data.runId, itemId, data.checker));
    }
  }
  return [...out.values()];
}

/** Group by kind, largest first (ties by kind name, so the order is stable). */
export function groupFailures(records: FailureRecord[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const r of records) {
    const g = groups.get(r.kind) ?? { kind: r.kind, role: r.role, ids: [], examples: [] };
    g.ids.push(r.id);
    if (g.examples.length < 3) g.examples.push(r.summary);
    groups.set(r.kind, g);
  }
  return [...groups.values()].sort((a, b) => b.ids.length - a.ids.length || a.kind.localeCompare(b.kind));
}

/** Failures per role (null = no evolvable role), for the report's blame mix. */
export function failuresByRole(records: FailureRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) out[r.role ?? 'none'] = (out[r.role ?? 'none'] ?? 0) + 1;
  return out;
}

/**
 * The role to rewrite this round: the one with the most attributable failures among `allowed`
 * (ties go to the earlier role in EVOLVABLE_ROLES: the scriptwriter first, whose drafts everything
 * downstream depends on). Null when no allowed role has a failure.
 */
export function chooseTarget(groups: FailureGroup[], allowed: readonly EvolvableRole[] = EVOLVABLE_ROLES): { role: EvolvableRole; groups: FailureGroup[] } | null {
  let best: { role: EvolvableRole; n: number } | null = null;
  for (const role of EVOLVABLE_ROLES) {
    if (!allowed.includes(role)) continue;
    const n = groups.filter((g) => g.role === role).reduce((a, g) => a + g.ids.length, 0);
    if (n > 0 && (!best || n > best.n)) best = { role, n };
  }
  return best && { role: best.role, groups: groups.filter((g) => g.role === best!.role) };
}

/** Checker discrimination from the verifier's own validation records (see docs/evolver.md). */
export function checkerDiscrimination(envelopes: Iterable<Envelope<unknown>>, runId?: string): { tested: number; discriminating: number; byItem: Record<string, boolean> } {
  const seen = new Map<string, boolean>();
  for (const env of envelopes) {
    const data = env.data as { runId?: string; itemId?: string; checker?: Checker } & Partial<DatasetRecord>;
    if (!data?.checker || (runId && data.runId !== runId)) continue;
    const itemId = data.itemId ?? data.provenance?.itemId;
    if (!itemId || seen.has(itemId)) continue;
    const c = data.checker;
    // A checker the verifier's model wrote (or tried to): it discriminates when it validated — passed
    // the gold dialogue and failed the initial state and every perturbation.
    const tried = c.origin === 'llm' || c.rejectedCandidates.some((r) => r.origin.startsWith('llm'));
    if (tried) seen.set(itemId, c.origin === 'llm' && c.validation.every((v) => v.ok));
  }
  const vals = [...seen.values()];
  return { tested: vals.length, discriminating: vals.filter(Boolean).length, byItem: Object.fromEntries(seen) };
}
