// Start a synthesis run on the society that is listening and follow its messages until every item
// ended: what `troupe synth` and the evolver both do with a run.
import type { NatsConnection } from '@nats-io/transport-node';
import { decodeEnvelope, type Envelope } from '../../protocols/envelope.ts';
import { SynthRunRequested, type SynthRunRequest } from '../../protocols/synthesis.ts';
import { MESSAGE_PREFIX } from '../../protocols/subjects.ts';
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
  onProgress?: (s: FunnelSummary, elapsedMs: number) => void;
  progressEveryMs?: number;
  /** Run overrides, fixed plans, base seed, validation flag (see SynthRunRequestSchema). */
  request?: Pick<SynthRunRequest, 'overrides' | 'fixedPlans' | 'seed' | 'validation'>;
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

/** Publish the run request (unless resuming) and follow the run's messages until every item ended (or the timeout). */
export async function followRun(o: RunOptions): Promise<{ summary: FunnelSummary; complete: boolean; startedAt: number; endedAt: number }> {
  const counter = new FunnelCounter(o.runId, o.plans * o.tasksPerPlan);
  const sub = o.nc.subscribe(`${MESSAGE_PREFIX}.synth.>`);
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
    o.onProgress?.(counter.summary(), Date.now() - startedAt);
    if (counter.done) resolveDone();
  } else {
    await publishRequest(o);
  }
  const ticker = setInterval(() => o.onProgress?.(counter.summary(), Date.now() - startedAt), o.progressEveryMs ?? 10_000);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), o.timeoutMs)));
  const how = await Promise.race([done.then(() => 'done' as const), timedOut]);
  clearInterval(ticker);
  clearTimeout(timer);
  sub.unsubscribe();
  return { summary: counter.summary(), complete: how === 'done', startedAt, endedAt: Date.now() };
}

async function publishRequest(o: RunOptions): Promise<void> {
  const bus = new Bus(o.nc, defaultSender(o.sender ?? 'synth-cli'));
  await withSpan(`synth run ${o.runId}`, { attributes: { 'troupe.synth.run': o.runId, 'troupe.synth.domain': o.domain } }, () =>
    bus.publish(SynthRunRequested, { runId: o.runId, domain: o.domain, plans: o.plans, tasksPerPlan: o.tasksPerPlan, maxRevisions: o.maxRevisions, ...o.request }, { key: `synth-run-${o.runId}` }),
  );
}
