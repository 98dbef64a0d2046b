// Start a synthesis run on the society that is listening and follow its messages until every item
// ended: what `troupe synth` and the evolver both do with a run.
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, type Envelope } from '../../protocols/envelope.ts';
import { SynthRunRequested, type SynthRunRequest } from '../../protocols/synthesis.ts';
import { DEAD_LETTER_PREFIX, MESSAGE_PREFIX } from '../../protocols/subjects.ts';
import { RunHandle } from '../../runtime/registry/runs.ts';
import { Bus, defaultSender } from '../../runtime/nats/bus.ts';
import { withSpan } from '../../runtime/tracing/index.ts';
import { FunnelCounter, type FunnelSummary } from './funnel.ts';

export interface RunOptions {
  nc: NatsConnection;
  runId: string;
  domain: string;
  plans: number;
  tasksPerPlan: number;
  maxRevisions: number;
  timeoutMs: number;
  onProgress?: (s: FunnelSummary, elapsedMs: number, extra: { plans: number; lastError?: string }) => void;
  progressEveryMs?: number;
  /** Run overrides, lowest revisions, fixed plans, base seed, validation flag (see SynthRunRequestSchema). */
  request?: Pick<SynthRunRequest, 'overrides' | 'revisions' | 'fixedPlans' | 'seed' | 'validation'>;
  /** Called with every message of this run while it is followed (e.g. to keep them). */
  onEnvelope?: (e: Envelope<unknown>) => void;
  /** Sender role of the run request (default `synth-cli`). */
  sender?: string;
  /**
   * Resuming a run: what the stream and the dataset already hold for it, read once the live
   * subscription is open (so nothing falls between the two; a message seen twice counts once). It
   * is counted before the first progress line, and the run request is not published again.
   */
  history?: () => Promise<Envelope<unknown>[]>;
}

export interface RunOutcome {
  summary: FunnelSummary;
  /** Every item reached an end. */
  complete: boolean;
  /** Someone cancelled the run (`troupe cancel`, or `abort`); its leftover messages are dropped by the hosts. */
  cancelled: boolean;
  startedAt: number;
  endedAt: number;
}

/**
 * Publish the run request (unless resuming) and follow the run's messages until every item ended (or the timeout, or
 * a cancel). The run is registered in the run table while it is followed (heartbeats), so a host
 * drops its messages once it is cancelled or its follower is gone; `abort` cancels it.
 */
export async function followRun(o: RunOptions & { abort?: AbortSignal }): Promise<RunOutcome> {
  const counter = new FunnelCounter(o.runId, o.plans * o.tasksPerPlan);
  const run = await RunHandle.start(o.nc, o.runId, o.sender ?? 'synth-cli');
  const sub = o.nc.subscribe(`${MESSAGE_PREFIX}.synth.>`);
  // The last failure anywhere in the society (dead letters carry the reason): shown with progress.
  let lastError: string | undefined;
  const dlq = o.nc.subscribe(`${DEAD_LETTER_PREFIX}.>`, {
    callback: (err, m) => {
      if (err) return;
      try {
        const d = m.json<{ reason?: string; by?: { role?: string } }>();
        if (d.reason) lastError = `${d.by?.role ?? '?'}: ${d.reason}`;
      } catch {
        /* not a dead-letter record */
      }
    },
  });
  const startedAt = Date.now();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  void (async () => {
    for await (const m of sub) {
      const v = decodeEnvelope(m.data);
      if (!v.ok) continue;
      if (o.onEnvelope && (v.envelope.data as { runId?: string } | undefined)?.runId === o.runId) o.onEnvelope(v.envelope);
      if (counter.add(v.envelope) && counter.done) resolveDone();
    }
  })();
  if (o.history) {
    await o.nc.flush(); // the subscription is registered at the server before the history is read
    for (const e of await o.history()) counter.add(e);
    if (counter.done) resolveDone();
  } else {
    await publishRequest(o);
  }
  const progress = () => o.onProgress?.(counter.summary(), Date.now() - startedAt, { plans: o.plans, lastError });
  progress(); // at once: what the run is waiting for, before the first model answer
  let cancelledBy: () => void = () => {};
  const cancelled = new Promise<'cancelled'>((r) => (cancelledBy = () => r('cancelled')));
  const ticker = setInterval(() => {
    progress();
    void run.cancelled().then((c) => c && cancelledBy(), () => {});
  }, o.progressEveryMs ?? 10_000);
  const onAbort = () => cancelledBy();
  o.abort?.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), o.timeoutMs)));
  const how = await Promise.race([done.then(() => 'done' as const), timedOut, cancelled]);
  clearInterval(ticker);
  clearTimeout(timer);
  o.abort?.removeEventListener('abort', onAbort);
  sub.unsubscribe();
  dlq.unsubscribe();
  if (how === 'done') await run.finish();
  else await run.cancel(how === 'timeout' ? `timed out after ${o.timeoutMs} ms` : 'cancelled');
  return { summary: counter.summary(), complete: how === 'done', cancelled: how === 'cancelled', startedAt, endedAt: Date.now() };
}

async function publishRequest(o: RunOptions): Promise<void> {
  const bus = new Bus(o.nc, defaultSender(o.sender ?? 'synth-cli'));
  await withSpan(`synth run ${o.runId}`, { attributes: { 'troupe.synth.run': o.runId, 'troupe.synth.domain': o.domain } }, () =>
    bus.publish(SynthRunRequested, { runId: o.runId, domain: o.domain, plans: o.plans, tasksPerPlan: o.tasksPerPlan, maxRevisions: o.maxRevisions, ...o.request }, { key: `synth-run-${o.runId}`, run: o.runId }),
  );
}
