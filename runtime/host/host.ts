// Hosting one role instance: bind a RoleDefinition's machine to its subjects through shared durable
// pull consumers (one per consumed kind; all replicas of the role pull from the same one), run one
// actor per work item, publish its outputs with deterministic ids, ack, and supervise failures.
// Beside JetStream work, a role may answer request/reply subjects (`RoleDefinition.serves`): one
// actor per request, the reply is the machine's output, a machine that errors answers an rpc-error.
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { createActor } from 'xstate';
import { decodeEnvelope, messageDef, type Envelope } from '../../protocols/envelope.ts';
import { kindOfSubject, MESSAGE_STREAM, roleConsumerName } from '../../protocols/subjects.ts';
import { Bus, derivedId, headersToRecord, InvalidMessageError } from '../nats/bus.ts';
import { DEFAULT_MAX_DELIVER, nanos } from '../nats/streams.ts';
import { withConsumeSpan, withHandlerSpan, context } from '../tracing/index.ts';
import type { PublishEvent, RoleDefinition, RoleInput } from './role.ts';
import { z } from 'zod';
import type { LiveSource } from '../instructions/live.ts';
import { serveRpc, type RpcServer } from '../rpc/rpc.ts';
import type { KV } from '@nats-io/kv';
import { RunItemDropped } from '../../protocols/runtime-messages.ts';
import { getRun, openRuns, runVerdict, type RunVerdict } from '../registry/runs.ts';

/** The run a message belongs to: the envelope's `run`, else a `runId` in its data or the data's provenance. */
export function runOfEnvelope(env: Envelope): string | undefined {
  if (env.run) return env.run;
  const d = env.data as { runId?: unknown; provenance?: { runId?: unknown } } | null;
  const r = (d && typeof d === 'object' && (typeof d.runId === 'string' ? d.runId : typeof d.provenance?.runId === 'string' ? d.provenance.runId : undefined)) || undefined;
  return r;
}

/** How long a host trusts what it read about a run (a cancel takes effect within this). */
const RUN_CACHE_MS = 1_000;

/**
 * Where a host reads its role's instructions and workflow parameters per item: the current revision
 * of `instructionsKey` (default: the role's name) and `paramsKey` (default `params.<role>`; null: none)
 * when the item starts. A key with no entry falls back to `HostOptions.instructions` (none for params).
 */
export interface HostLiveOptions {
  source: LiveSource;
  instructionsKey?: string;
  paramsKey?: string | null;
}

export type HostState = 'starting' | 'ready' | 'draining' | 'stopped';

export interface HostOptions {
  bus: Bus;
  role: RoleDefinition;
  instance: string;
  concurrency?: number;
  /** Unacked work is redelivered to another replica after this long (default 30 s; kept alive while handling). */
  ackWaitMs?: number;
  /** Deliveries before a message is dead-lettered; also the consumers' server-side `max_deliver` (default 10). */
  maxDeliver?: number;
  model?: string;
  /** Fixed instructions; with `live`, only the fallback while the role's key has no entry. */
  instructions?: { text: string; revision: number };
  /** Follow the instructions bucket: each item runs with the revisions current when it started. */
  live?: HostLiveOptions;
  log?: (line: string) => void;
}

export interface HostStats {
  state: HostState;
  inFlight: number;
  handled: number;
  failed: number;
  deadLettered: number;
  restarts: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export { DEFAULT_MAX_DELIVER };

/** What the server publishes when a consumer stops redelivering a message (`max_deliver` reached). */
export function maxDeliveriesAdvisorySubject(stream: string, consumer: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;
}
const MaxDeliveriesAdvisorySchema = z.object({ stream: z.string(), consumer: z.string(), stream_seq: z.number().int().positive(), deliveries: z.number().int() });

export class RoleHost {
  state: HostState = 'starting';
  inFlight = 0;
  handled = 0;
  failed = 0;
  deadLettered = 0;
  restarts = 0;
  /** Messages of cancelled or dead runs acked without being worked. */
  dropped = 0;
  private runs?: KV;
  private readonly runCache = new Map<string, { verdict: RunVerdict; at: number }>();
  private consecutiveFailures = 0;
  private pauseUntil = 0;
  private iters: ConsumerMessages[] = [];
  private advisorySubs: Subscription[] = [];
  private servers: RpcServer[] = [];
  private loops: Promise<void>[] = [];
  private waiters: (() => void)[] = [];
  /** Messages being handled → when we last told the server we are still working on them. */
  private readonly held = new Map<JsMsg, number>();
  private ticker?: NodeJS.Timeout;
  private readonly concurrency: number;
  private readonly ackWaitMs: number;
  private readonly maxDeliver: number;
  private readonly log: (line: string) => void;
  /** Revisions the latest item started with (for the log line on a change, and for registries). */
  lastRevisions: { instructions: number | null; params: number | null } = { instructions: null, params: null };

  constructor(readonly opts: HostOptions) {
    this.concurrency = opts.concurrency ?? opts.role.concurrency ?? 16;
    this.ackWaitMs = opts.ackWaitMs ?? 30_000;
    this.maxDeliver = opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
    this.log = opts.log ?? ((l) => console.error(l));
  }

  get role(): RoleDefinition {
    return this.opts.role;
  }

  stats(): HostStats {
    const { state, inFlight, handled, failed, deadLettered, restarts } = this;
    return { state, inFlight, handled, failed, deadLettered, restarts };
  }

  /** Create (or update) the role's shared consumers and start pulling; answer its request subjects. */
  async start(): Promise<void> {
    const { bus, role } = this.opts;
    this.runs = await openRuns(bus.nc);
    const names: string[] = [];
    const jsm = role.consumes.length ? await bus.js.jetstreamManager() : undefined;
    for (const def of role.consumes) {
      if (!jsm) break;
      const name = roleConsumerName(role.name, def.kind);
      const cfg = {
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: def.subject,
        ack_wait: nanos(this.ackWaitMs),
        // Bounded at the server too: the host dead-letters a message that fails its last delivery
        // itself; one whose holder died or hung on that delivery is never handed out again, and the
        // server's max-deliveries advisory (see listenForGiveUps) turns it into a dead letter.
        max_deliver: this.maxDeliver,
        max_ack_pending: 10_000,
      };
      try {
        await jsm.consumers.info(MESSAGE_STREAM, name);
        // Also bounds a consumer created before max_deliver was (-1: unlimited, redelivered forever).
        await jsm.consumers.update(MESSAGE_STREAM, name, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending, max_deliver: cfg.max_deliver }).catch((err) => {
          this.log(`[${this.opts.instance}] could not update consumer ${name}: ${(err as Error).message}`);
        });
      } catch {
        await jsm.consumers.add(MESSAGE_STREAM, cfg).catch(async (err) => {
          await jsm.consumers.info(MESSAGE_STREAM, name).catch(() => {
            throw err;
          });
        });
      }
      names.push(name);
      // Before pulling: the server emits the advisory on a pull, so a puller is always listening.
      this.advisorySubs.push(this.listenForGiveUps(name));
    }
    for (const served of role.serves ?? []) this.servers.push(this.serve(served));
    if (this.servers.length) await bus.nc.flush(); // subscribed at the server before we say ready
    this.state = 'ready';
    // One timer per instance, not per message: in-progress acks for anything held past half the ack wait.
    this.ticker = setInterval(() => this.keepAlive(), Math.max(100, Math.min(1000, this.ackWaitMs / 4)));
    this.ticker.unref();
    for (const name of names) this.loops.push(this.pullForever(name));
  }

  private keepAlive(): void {
    const now = Date.now();
    for (const [m, last] of this.held) {
      if (now - last >= this.ackWaitMs / 2) {
        m.working();
        this.held.set(m, now);
      }
    }
  }

  /** Pull from one consumer until drained; a pull that breaks (server restart, lost heartbeats) is reopened. */
  private async pullForever(name: string): Promise<void> {
    const { bus } = this.opts;
    let backoff = 100;
    while (this.state === 'ready') {
      try {
        const consumer = await bus.js.consumers.get(MESSAGE_STREAM, name);
        const it = await consumer.consume({ max_messages: this.concurrency });
        this.iters.push(it);
        if (this.state !== 'ready') it.stop(); // drained while we were opening it
        await this.pull(it);
        this.iters = this.iters.filter((x) => x !== it);
        backoff = 100;
      } catch (err) {
        if (this.state !== 'ready') break;
        this.log(`[${this.opts.instance}] pull from ${name} broke (${(err as Error).message}); reopening in ${backoff} ms`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }

  /** Stop taking work, hand back what is buffered, finish what is in flight. */
  async drain(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'draining';
    for (const it of this.iters) it.stop();
    this.wake();
    // Stops taking requests and waits for those being answered.
    await Promise.all(this.servers.map((s) => s.stop()));
    await Promise.all(this.loops);
    while (this.inFlight > 0) await sleep(10);
    for (const sub of this.advisorySubs) sub.unsubscribe();
    await this.opts.bus.nc.flush();
    clearInterval(this.ticker);
    this.state = 'stopped';
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async pull(it: ConsumerMessages): Promise<void> {
    for await (const m of it) {
      if (this.state !== 'ready') {
        m.nak(); // not started here: give it straight back to another instance
        continue;
      }
      while (this.inFlight >= this.concurrency && this.state === 'ready') {
        await new Promise<void>((r) => this.waiters.push(r));
      }
      const pause = this.pauseUntil - Date.now();
      if (pause > 0) await sleep(pause);
      if (this.state !== 'ready') {
        m.nak();
        continue;
      }
      this.inFlight++;
      void this.handle(m).finally(() => {
        this.inFlight--;
        this.wake();
      });
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const { bus, role, instance } = this.opts;
    const kind = kindOfSubject(m.subject);
    const delivery = m.info.deliveryCount;
    await withConsumeSpan(m.subject, m.headers, { kind, size: m.data.length, role: role.name, instance }, async (span) => {
      const v = decodeEnvelope(m.data, kind);
      if (!v.ok) {
        span.setAttribute('troupe.dead_letter', v.reason);
        await this.deadLetter(m, v.reason, v.kind);
        return;
      }
      const env = v.envelope;
      span.setAttribute('messaging.message.id', env.id);
      if (delivery > this.maxDeliver) {
        // A replica with a higher limit (or an older consumer) let it through: stop it here.
        await this.deadLetter(m, `gave up after ${delivery - 1} deliveries`, env.kind);
        return;
      }
      const runId = runOfEnvelope(env);
      const gate = runId ? await this.runGate(runId) : 'work';
      if (gate !== 'work') {
        span.setAttribute('troupe.run.dropped', gate);
        await this.dropForRun(m, env, runId!, gate);
        return;
      }
      // Keep the message ours while the machine works, however long it takes (see keepAlive()).
      this.held.set(m, Date.now());
      try {
        const outputs = await withHandlerSpan(role.name, env.kind, { 'troupe.impl': role.impl, 'troupe.delivery': delivery }, () =>
          this.runMachine(env, delivery),
        );
        const ctx = context.active();
        for (let i = 0; i < outputs.length; i++) {
          const o = outputs[i];
          const def = messageDef(o.kind);
          if (!def) {
            await bus.deadLetter({ reason: `role ${role.name} emitted unknown kind "${o.kind}"`, subject: '', kind: o.kind, body: JSON.stringify(o.data), headers: {} });
            this.deadLettered++;
            continue;
          }
          try {
            // Same id on every delivery of this input: JetStream drops the copy a redelivery republishes.
            await bus.publish(def, o.data, { id: derivedId(env.id, role.name, i), causedBy: env.id, originAt: env.originAt ?? env.sentAt, ctx, run: runId });
          } catch (err) {
            if (err instanceof InvalidMessageError) this.deadLettered++;
            else throw err;
          }
        }
        m.ack();
        this.handled++;
        this.consecutiveFailures = 0;
      } catch (err) {
        this.failed++;
        this.restarts++;
        this.consecutiveFailures++;
        if (delivery >= this.maxDeliver) {
          // The server will not deliver it again: record it now, with the last error.
          this.log(`[${instance}] ${role.name} failed on ${env.kind} ${env.id} (delivery ${delivery}, the last): ${(err as Error).message}; dead-lettering`);
          await this.deadLetter(m, `gave up after ${delivery} deliveries: ${(err as Error).message}`, env.kind);
          throw err;
        }
        const retryIn = Math.min(200 * 2 ** (delivery - 1), 30_000);
        // Paused intake still holds the next message, so keep the pause well inside the ack wait.
        const pause = Math.min(100 * 2 ** (this.consecutiveFailures - 1), 5_000, this.ackWaitMs / 4);
        this.pauseUntil = Date.now() + pause;
        this.log(`[${instance}] ${role.name} failed on ${env.kind} ${env.id} (delivery ${delivery}): ${(err as Error).message}; redelivery in ${retryIn} ms, restarting after ${pause} ms`);
        m.nak(retryIn);
        throw err;
      } finally {
        this.held.delete(m);
      }
    }).catch(() => {});
  }

  /** Work a message of this run, or drop it: the run was cancelled, or its submitter is gone (dead). */
  private async runGate(runId: string): Promise<RunVerdict> {
    const hit = this.runCache.get(runId);
    if (hit && Date.now() - hit.at < RUN_CACHE_MS) return hit.verdict;
    // An unreadable table must not stop the society: work the message (and say so).
    const rec = await getRun(this.runs!, runId).catch((err) => {
      this.log(`[${this.opts.instance}] run table unreadable (${(err as Error).message}); working ${runId}'s message`);
      return undefined;
    });
    const verdict = runVerdict(rec);
    this.runCache.set(runId, { verdict, at: Date.now() });
    return verdict;
  }

  /** Ack a message of a cancelled or dead run without working it, leaving a `run.item.dropped` record. */
  private async dropForRun(m: JsMsg, env: Envelope, runId: string, why: Exclude<RunVerdict, 'work'>): Promise<void> {
    const { bus, role, instance } = this.opts;
    await bus.publish(
      RunItemDropped,
      { runId, runState: why, kind: env.kind, messageId: env.id, role: role.name, instance, at: Date.now() },
      { id: derivedId(env.id, role.name, -1), causedBy: env.id, run: runId },
    );
    this.dropped++;
    this.log(`[${instance}] dropped ${env.kind} ${env.id}: run ${runId} is ${why}`);
    m.ack();
  }

  private async runMachine(env: Envelope, delivery: number): Promise<PublishEvent[]> {
    return runRoleMachine(this.opts.role, await this.inputFor(env, delivery));
  }

  private async inputFor(env: Envelope, delivery: number): Promise<RoleInput> {
    const { role, instance, model } = this.opts;
    const { instructions, params } = await this.currentSettings();
    return {
      message: env,
      data: env.data,
      delivery,
      role: { name: role.name, impl: role.impl, instance },
      model,
      instructions,
      ...(params ? { params } : {}),
      ...(this.opts.live ? { live: this.opts.live.source } : {}),
    };
  }

  /**
   * Answer one request/reply subject: one actor per request (delivery 1: requests are not
   * redelivered), its output is the reply. Validation, rpc-errors (role failure vs. infrastructure)
   * and trace context are the request/reply layer's (runtime/rpc); counting and spans are ours.
   */
  private serve(served: NonNullable<RoleDefinition['serves']>[number]): RpcServer {
    const { bus, role, instance } = this.opts;
    return serveRpc(bus.nc, {
      subject: served.subject,
      queue: served.queue,
      reqDef: served.request,
      replyDef: served.reply,
      from: bus.sender,
      handler: async (_data, env) => {
        this.inFlight++;
        try {
          const out = await withHandlerSpan(role.name, env.kind, { 'troupe.impl': role.impl, 'troupe.subject': served.subject }, async () =>
            runRoleMachineForReply(role, await this.inputFor(env, 1)),
          );
          this.handled++;
          this.consecutiveFailures = 0;
          return out;
        } catch (err) {
          this.failed++;
          this.log(`[${instance}] ${role.name} failed on ${env.kind} ${env.id}: ${(err as Error).message}`);
          throw err;
        } finally {
          this.inFlight--;
        }
      },
      onInvalid: () => this.failed++, // answered with an rpc-error naming the problem; nothing is stored
    });
  }

  /** Instructions and parameters for an item starting now (a bad KV entry throws: the item fails, naming it). */
  async currentSettings(): Promise<Pick<RoleInput, 'instructions' | 'params'>> {
    const { role, instance, live } = this.opts;
    let instructions: RoleInput['instructions'] = this.opts.instructions;
    let params: RoleInput['params'];
    if (live) {
      const key = live.instructionsKey ?? role.name;
      const cur = await live.source.instructions(key);
      if (cur) instructions = { text: cur.text, revision: cur.revision, key };
      const pkey = live.paramsKey === undefined ? `params.${role.name}` : live.paramsKey;
      if (pkey) {
        const p = await live.source.value(pkey, z.unknown());
        if (p) params = { value: p.value, revision: p.revision, key: pkey };
      }
    }
    const revs = { instructions: instructions?.revision ?? null, params: params?.revision ?? null };
    if (live && (revs.instructions !== this.lastRevisions.instructions || revs.params !== this.lastRevisions.params) && this.handled + this.failed > 0) {
      this.log(`[${instance}] ${role.name} now on instructions r${revs.instructions ?? '-'}, params r${revs.params ?? '-'}`);
    }
    this.lastRevisions = revs;
    return { instructions, params };
  }

  private async deadLetter(m: JsMsg, reason: string, kind: string | undefined): Promise<void> {
    await this.opts.bus.deadLetter(
      {
        reason,
        subject: m.subject,
        kind,
        body: new TextDecoder().decode(m.data),
        headers: headersToRecord(m.headers),
        deliveries: m.info.deliveryCount,
      },
      undefined,
      { id: deadLetterId(m.info.consumer, m.info.streamSequence) },
    );
    this.deadLettered++;
    // A plain term, never term(reason): nats-server before 2.10 does not parse "+TERM <reason>",
    // ignores the ack and redelivers the message every ack wait. The reason is in the record.
    m.term();
  }

  /**
   * Dead-letter what the server gave up on for consumer `name` (max_deliver reached without an ack:
   * its holder crashed or hung on the last delivery). Queue group per consumer: one replica records it.
   */
  private listenForGiveUps(name: string): Subscription {
    const { bus, instance } = this.opts;
    return bus.nc.subscribe(maxDeliveriesAdvisorySubject(MESSAGE_STREAM, name), {
      queue: name,
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          const a = MaxDeliveriesAdvisorySchema.parse(msg.json());
          const jsm = await bus.js.jetstreamManager();
          const stored = await jsm.streams.getMessage(a.stream, { seq: a.stream_seq }).catch(() => null);
          const body = stored ? new TextDecoder().decode(stored.data) : '';
          const v = stored ? decodeEnvelope(stored.data) : null;
          await bus.deadLetter(
            {
              reason: `server gave up after ${a.deliveries} deliveries (max_deliver) without an ack: the replica holding it crashed or hung${stored ? '' : `; stream message ${a.stream_seq} is gone`}`,
              subject: stored?.subject ?? '',
              kind: v?.ok ? v.envelope.kind : stored ? kindOfSubject(stored.subject) : undefined,
              body,
              headers: stored ? headersToRecord(stored.header) : {},
              deliveries: a.deliveries,
            },
            undefined,
            { id: deadLetterId(a.consumer, a.stream_seq) },
          );
          this.deadLettered++;
        })().catch((e) => this.log(`[${instance}] could not dead-letter a max-deliveries advisory for ${name}: ${(e as Error).message}`));
      },
    });
  }
}

/** One dead letter per (consumer, stream message): a lost term and a redelivery do not add a second. */
function deadLetterId(consumer: string, streamSeq: number): string {
  return `dlq:${consumer}:${streamSeq}`;
}

/**
 * Run a role's machine on one input with a fresh actor; resolve with the messages it emitted once it
 * reaches a final state, reject if it errors or exceeds the role's timeout. (The host's unit of work;
 * exported for benchmarks and unit tests of role machines.)
 */
export async function runRoleMachine(role: RoleDefinition, input: RoleInput): Promise<PublishEvent[]> {
  return (await runToFinal(role, input)).outputs;
}

/** Run a role's machine on one request; resolve with its output (the reply), reject if it errors. */
export async function runRoleMachineForReply(role: RoleDefinition, input: RoleInput): Promise<unknown> {
  const r = await runToFinal(role, input);
  if (r.output === undefined) throw new Error(`role ${role.name} reached a final state without an output to reply with`);
  return r.output;
}

function runToFinal(role: RoleDefinition, input: RoleInput): Promise<{ outputs: PublishEvent[]; output: unknown }> {
  return new Promise((resolve, reject) => {
    const outputs: PublishEvent[] = [];
    const timeoutMs = role.timeoutMs ?? 600_000;
    let settled = false;
    const actor = createActor(role.machine, { input });
    const timer = setTimeout(() => finish(new Error(`no final state after ${timeoutMs} ms`)), timeoutMs);
    function finish(err?: unknown) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub.unsubscribe();
      const output = (actor.getSnapshot() as { output?: unknown }).output; // before stop() replaces the snapshot
      actor.stop();
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve({ outputs, output });
    }
    actor.on('troupe.publish', (e: PublishEvent) => outputs.push(e));
    const sub = actor.subscribe({
      next: (snap) => {
        if (snap.status === 'done') finish();
      },
      error: (err) => finish(err),
    });
    actor.start();
    const snap = actor.getSnapshot();
    if (snap.status === 'done') finish();
    else if (snap.status === 'error') finish(snap.error);
  });
}

/** A role hosted in this process for its request subjects only (no registry entry): what eval and tests start. */
export interface HostedRequests {
  readonly host: RoleHost;
  /** Requests answered (successfully or with an rpc-error). */
  readonly handled: number;
  stop(): Promise<void>;
}

/** Host `role` (one that `serves` request subjects) on `bus` until `stop()`; ready when this resolves. */
export async function hostRequests(bus: Bus, role: RoleDefinition, o: { instance?: string; log?: (line: string) => void } = {}): Promise<HostedRequests> {
  if (!role.serves?.length) throw new Error(`role ${role.name} serves no request subject`);
  if (role.consumes.length) throw new Error(`role ${role.name} consumes JetStream work: host it with a worker`);
  const host = new RoleHost({ bus, role, instance: o.instance ?? bus.sender.instance, log: o.log });
  await host.start();
  return {
    host,
    get handled() {
      return host.handled + host.failed;
    },
    stop: () => host.drain(),
  };
}
