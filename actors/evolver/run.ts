// One synthesis run as the evolver drives it: publish a run request (with overrides, fixed plans,
// seed, validation flag), follow its messages until every item ended, and read its terminal
// messages back from the JetStream work stream. Several runs can be in flight in one society at
// once (the validation arms): each follower keeps only its own run's messages.
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, type Envelope } from '../../protocols/envelope.ts';
import { MESSAGE_PREFIX, MESSAGE_STREAM } from '../../protocols/subjects.ts';
import { SynthRunRequestSchema, type EvaluationPlan, type PlanIssued, type SynthRunRequest, type SynthesisPlan } from '../../protocols/synthesis.ts';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos } from '../../runtime/nats/streams.ts';
import type { FunnelSummary } from '../kit/funnel.ts';
import { followRun } from '../kit/follow-run.ts';
import { checkerDiscrimination } from './failures.ts';
import type { BatchOutcome } from './promotion.ts';

export type FixedPlan = { synthesis: SynthesisPlan; evaluation: EvaluationPlan };

export interface RunResult {
  runId: string;
  summary: FunnelSummary;
  complete: boolean;
  startedAt: number;
  endedAt: number;
  /** Every message of the run seen while following it (deduplicated by envelope id). */
  envelopes: Envelope<unknown>[];
  /** The plans the run issued (not rejected), in slot order: what validation arms replay. */
  plans: FixedPlan[];
}

export interface FollowOptions {
  timeoutMs: number;
  onProgress?: (s: FunnelSummary, elapsedMs: number) => void;
  progressEveryMs?: number;
}

/** Publish `req` and follow the run until every item ended (or the timeout). */
export async function runSynthesis(nc: NatsConnection, request: SynthRunRequest, o: FollowOptions): Promise<RunResult> {
  const req = SynthRunRequestSchema.parse(request);
  const envelopes = new Map<string, Envelope<unknown>>();
  const { overrides, revisions, fixedPlans, seed, validation } = req;
  const r = await followRun({
    nc,
    runId: req.runId,
    domain: req.domain,
    plans: req.plans,
    tasksPerPlan: req.tasksPerPlan,
    maxRevisions: req.maxRevisions,
    timeoutMs: o.timeoutMs,
    onProgress: o.onProgress,
    progressEveryMs: o.progressEveryMs,
    request: { overrides, revisions, fixedPlans, seed, validation },
    sender: 'evolver',
    onEnvelope: (e) => envelopes.set(e.id, e),
  });
  const all = [...envelopes.values()];
  return { runId: req.runId, ...r, envelopes: all, plans: issuedPlans(all) };
}

export function issuedPlans(envelopes: Envelope<unknown>[]): FixedPlan[] {
  return envelopes
    .filter((e) => e.kind === 'synth.plan.issued' && !(e.data as PlanIssued).rejected)
    .map((e) => e.data as PlanIssued)
    .sort((a, b) => a.index - b.index)
    .filter((p, i, xs) => i === 0 || xs[i - 1].index !== p.index)
    .map((p) => ({ synthesis: p.synthesis, evaluation: p.evaluation }));
}

/** Kinds the evolver reads back from the stream: the terminal ones (and the checkers they carry). */
export const FAILURE_SOURCE_KINDS = ['synth.item.dropped', 'synth.failure.reported', 'synth.dataset.record'] as const;

/**
 * Read a run's terminal messages from the JetStream work stream (not from a live subscription: the
 * stream holds them whether or not anyone was listening). One ephemeral consumer per subject, starting
 * at `since` (ms since the epoch; the run's start) so a long-lived society's history is not re-read.
 */
export async function readRunFromStream(nc: NatsConnection, runId: string, kinds: readonly string[] = FAILURE_SOURCE_KINDS, since?: number): Promise<Envelope<unknown>[]> {
  const out = new Map<string, Envelope<unknown>>();
  const jsm = await jetstreamManager(nc);
  for (const kind of kinds) {
    const ci = await jsm.consumers.add(MESSAGE_STREAM, {
      filter_subject: `${MESSAGE_PREFIX}.${kind}`,
      ack_policy: AckPolicy.None,
      max_deliver: 1, // no acks: each message is delivered once
      inactive_threshold: nanos(60_000),
      // A little slack before the start: clocks of publisher and reader are the same machine's here,
      // but a society over several machines may be a second apart.
      ...(since === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(since - 5_000).toISOString() }),
    });
    const consumer = await jetstream(nc).consumers.get(MESSAGE_STREAM, ci.name);
    let pending = (await consumer.info()).num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 256), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const v = decodeEnvelope(m.data);
        if (v.ok && (v.envelope.data as { runId?: string })?.runId === runId) out.set(v.envelope.id, v.envelope);
      }
      if (!got) break;
      pending -= got;
    }
    await consumer.delete().catch(() => {});
  }
  return [...out.values()];
}

/**
 * One arm's counts for `decidePromotion`. proposed = items the run asked for (an item lost at the
 * draft is a loss of the arm too); accepted = dialogues that passed their checker (dataset records,
 * published even by validation runs); checkers = those the verifier's model wrote, discriminating
 * when they validated (see `checkerDiscrimination`).
 */
export function batchOutcome(r: Pick<RunResult, 'summary' | 'envelopes' | 'runId'>): BatchOutcome {
  const d = checkerDiscrimination(r.envelopes, r.runId);
  const checkerItems: Record<string, boolean> = {};
  for (const [id, ok] of Object.entries(d.byItem)) checkerItems[itemPlace(r.runId, id)] = ok;
  return { proposed: r.summary.items, accepted: r.summary.dialoguePassed, checkersTested: d.tested, checkersDiscriminating: d.discriminating, items: itemOutcomes(r.runId, r.envelopes), checkerItems };
}

/** An item's place in its run (`p0-t1`): the item id less the run id, the same in both arms of a batch. */
export function itemPlace(runId: string, itemId: string): string {
  return itemId.startsWith(`${runId}-`) ? itemId.slice(runId.length + 1) : itemId;
}

/**
 * Per item place: did its dialogue pass its checker (a dataset record)? Every item the run's messages
 * name is listed; one that ended any other way, or not at all, counts as not passed.
 */
export function itemOutcomes(runId: string, envelopes: readonly Envelope<unknown>[]): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const e of envelopes) {
    const d = e.data as { runId?: string; itemId?: string; planId?: string; tasksPerPlan?: number; provenance?: { itemId?: string } } | null;
    if (!d || d.runId !== runId) continue;
    if (e.kind === 'synth.plan.issued' && d.planId && d.tasksPerPlan) {
      for (let k = 0; k < d.tasksPerPlan; k++) {
        const place = itemPlace(runId, `${d.planId}-t${k}`);
        if (!(place in out)) out[place] = false;
      }
      continue;
    }
    // A dataset record names its item in its provenance only.
    const itemId = d.itemId ?? d.provenance?.itemId;
    if (!itemId || itemId.endsWith('-plan')) continue;
    const place = itemPlace(runId, itemId);
    out[place] = out[place] === true || e.kind === 'synth.dataset.record';
  }
  return out;
}
