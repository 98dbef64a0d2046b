// Counting a run from the messages it produced: where every item went, blame, tokens, timing.
// Pure: feed it decoded envelopes (any order, duplicates allowed) and read the summary.
import type { Envelope } from '../../protocols/envelope.ts';
import type { DatasetRecord, FailureReport, ItemDropped, PlanIssued, Provenance, TaskProposal } from '../../protocols/synthesis.ts';

export interface FunnelSummary {
  runId: string;
  items: number;
  plansIssued: number;
  plansRejected: number;
  drafted: number;
  proposed: number;
  revisionsRequested: number;
  acceptedByCritic: number;
  checkerValidated: number;
  dialoguesPlayed: number;
  dialoguePassed: number;
  dialogueFailed: number;
  dropped: Record<string, number>;
  blame: Record<string, number>;
  blameKinds: Record<string, number>;
  terminal: number;
  tokens: { prompt: number; completion: number };
  checkerOrigins: Record<string, number>;
  /** Signature distance of each issued plan to each earlier one (the run's pairwise distribution; optional for old summaries). */
  planDistances?: number[];
  /** Kinds of task proposed (first draft of each item). */
  taskKinds?: Record<string, number>;
  /** How each item's exploration was made: by the model, or the scripted fallback. */
  explorers?: Record<string, number>;
  dropReasons: { itemId: string; stage: string; reasons: string[]; detail?: unknown }[];
  /** Failed dialogues: termination, checker reasons, blame, and the whole report (for the evolver). */
  failures: { itemId: string; termination: string; checker: string[]; blame: FailureReport['blame']; report: FailureReport }[];
}

export class FunnelCounter {
  private seen = new Set<string>();
  private sets: Record<string, Set<string>> = {};
  private terminalItems = new Set<string>();
  readonly dropped: Record<string, number> = {};
  readonly blame: Record<string, number> = {};
  readonly blameKinds: Record<string, number> = {};
  readonly checkerOrigins: Record<string, number> = {};
  readonly dropReasons: FunnelSummary['dropReasons'] = [];
  readonly failures: FunnelSummary['failures'] = [];
  readonly planDistances: number[] = [];
  readonly taskKinds: Record<string, number> = {};
  readonly explorers: Record<string, number> = {};
  plansIssued = 0;
  plansRejected = 0;
  revisions = 0;
  tokens = { prompt: 0, completion: 0 };

  constructor(readonly runId: string, readonly items: number) {}

  private mark(set: string, id: string): boolean {
    const s = (this.sets[set] ??= new Set());
    if (s.has(id)) return false;
    s.add(id);
    return true;
  }

  private terminalOnce(itemId: string, prov: Provenance): boolean {
    if (this.terminalItems.has(itemId)) return false;
    this.terminalItems.add(itemId);
    this.tokens.prompt += prov.tokens.prompt;
    this.tokens.completion += prov.tokens.completion;
    return true;
  }

  /** Count one message; returns false when it was not part of this run or already counted. */
  add(env: Envelope<unknown>): boolean {
    const data = env.data as { runId?: string };
    if (!data || data.runId !== this.runId || this.seen.has(env.id)) return false;
    this.seen.add(env.id);
    switch (env.kind) {
      case 'synth.plan.issued': {
        const p = data as PlanIssued;
        if (this.mark('plan', p.planId)) {
          p.rejected ? this.plansRejected++ : this.plansIssued++;
          if (!p.rejected) this.planDistances.push(...(p.overlap.distances ?? []));
        }
        break;
      }
      case 'synth.task.proposed': {
        const t = data as TaskProposal;
        if (this.mark('proposed', t.itemId)) {
          const kind = t.intent?.kind ?? t.plan?.synthesis?.taskKind ?? 'write';
          this.taskKinds[kind] = (this.taskKinds[kind] ?? 0) + 1;
          if (t.explorer) this.explorers[t.explorer.mode] = (this.explorers[t.explorer.mode] ?? 0) + 1;
        }
        this.mark('drafted', `${t.itemId}#${t.round}`);
        break;
      }
      case 'synth.task.revise':
        this.revisions++;
        break;
      case 'synth.task.accepted':
        this.mark('accepted', (data as TaskProposal).itemId);
        break;
      case 'synth.task.ready': {
        const t = data as TaskProposal & { checker: { origin: string } };
        if (this.mark('ready', t.itemId)) this.checkerOrigins[t.checker.origin] = (this.checkerOrigins[t.checker.origin] ?? 0) + 1;
        break;
      }
      case 'synth.dialogue.played':
        this.mark('played', (data as TaskProposal).itemId);
        break;
      case 'synth.item.dropped': {
        const d = data as ItemDropped;
        if (this.terminalOnce(d.itemId, d.provenance)) {
          this.dropped[d.stage] = (this.dropped[d.stage] ?? 0) + 1;
          this.dropReasons.push({ itemId: d.itemId, stage: d.stage, reasons: d.reasons, detail: d.detail });
        }
        break;
      }
      case 'synth.failure.reported': {
        const f = data as FailureReport;
        if (this.terminalOnce(f.itemId, f.provenance)) {
          this.blame[f.blame.blame] = (this.blame[f.blame.blame] ?? 0) + 1;
          this.blameKinds[f.blame.kind] = (this.blameKinds[f.blame.kind] ?? 0) + 1;
          this.mark('failed', f.itemId);
          this.failures.push({ itemId: f.itemId, termination: f.dialogue.terminationReason, checker: f.checkerRun.reasons, blame: f.blame, report: f });
        }
        break;
      }
      case 'synth.dataset.record': {
        const r = data as DatasetRecord;
        const itemId = r.provenance.itemId;
        if (this.terminalOnce(itemId, r.provenance)) this.mark('passed', itemId);
        break;
      }
      default:
        return false;
    }
    return true;
  }

  get done(): boolean {
    return this.terminalItems.size >= this.items;
  }

  summary(): FunnelSummary {
    const n = (k: string) => this.sets[k]?.size ?? 0;
    return {
      runId: this.runId,
      items: this.items,
      plansIssued: this.plansIssued,
      plansRejected: this.plansRejected,
      drafted: n('drafted'),
      proposed: n('proposed'),
      revisionsRequested: this.revisions,
      acceptedByCritic: n('accepted'),
      checkerValidated: n('ready'),
      dialoguesPlayed: n('played'),
      dialoguePassed: n('passed'),
      dialogueFailed: n('failed'),
      dropped: { ...this.dropped },
      blame: { ...this.blame },
      blameKinds: { ...this.blameKinds },
      terminal: this.terminalItems.size,
      tokens: { ...this.tokens },
      checkerOrigins: { ...this.checkerOrigins },
      planDistances: [...this.planDistances],
      taskKinds: { ...this.taskKinds },
      explorers: { ...this.explorers },
      dropReasons: [...this.dropReasons],
      failures: [...this.failures],
    };
  }
}

/** What the run is doing now, from its counts: the earliest stage with work still open. */
export function runStage(s: FunnelSummary, plans: number): string {
  const plansDone = s.plansIssued + s.plansRejected;
  if (plansDone < plans) return `planning: meta-planner writing plan ${plansDone + 1}/${plans}`;
  if (s.proposed < s.items - droppedBefore(s, 'critic')) return `drafting: scriptwriter exploring the domain and writing tasks (${s.proposed}/${s.items})`;
  if (s.acceptedByCritic + (s.dropped.critic ?? 0) < s.proposed) return 'reviewing: critic checking drafted tasks';
  if (s.checkerValidated + (s.dropped.verifier ?? 0) < s.acceptedByCritic) return 'verifying: verifier writing and validating checkers';
  if (s.dialoguesPlayed < s.checkerValidated) return `playing: rollout dialogues (${s.dialoguesPlayed}/${s.checkerValidated})`;
  return s.terminal < s.items ? 'judging: checker runs and blame' : 'done';
}

function droppedBefore(s: FunnelSummary, ...stages: string[]): number {
  return Object.entries(s.dropped).filter(([k]) => !stages.includes(k)).reduce((a, [, v]) => a + v, 0);
}

/**
 * One progress line: elapsed, stage, done/total, the funnel counts, an ETA once an item ended
 * (elapsed per ended item × items left) and the last error seen, if any.
 */
export function progressLine(s: FunnelSummary, elapsedMs: number, extra: { plans?: number; lastError?: string } = {}): string {
  const eta = s.terminal > 0 && s.terminal < s.items ? ` · ETA ~${Math.round(((elapsedMs / s.terminal) * (s.items - s.terminal)) / 1000)}s` : '';
  const stage = extra.plans !== undefined ? ` · ${runStage(s, extra.plans)}` : '';
  const err = extra.lastError ? ` · last error: ${extra.lastError.slice(0, 160)}` : '';
  return `[synth ${(elapsedMs / 1000).toFixed(0)}s] items ${s.terminal}/${s.items} done${stage} · proposed ${s.proposed} · accepted ${s.acceptedByCritic} · checker ok ${s.checkerValidated} · played ${s.dialoguesPlayed} · passed ${s.dialoguePassed} · dropped ${Object.entries(s.dropped).map(([k, v]) => `${k}:${v}`).join(',') || 0}${eta}${err}`;
}
