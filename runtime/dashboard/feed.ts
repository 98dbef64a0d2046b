// The dashboard's view of the bus: a core subscription on every message and dead-letter subject (like
// `troupe watch`), a bounded ring of recent events for the stream view, and per-(kind, sender) counts
// over a sliding window for the graph's edge rates.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ALL_DEAD_LETTERS, ALL_MESSAGES, DEAD_LETTER_PREFIX, KIND_HEADER, MESSAGE_PREFIX } from '../../protocols/subjects.ts';
import type { MessageEvent } from '../control/types.ts';
import { eventFromMessage, type RawMessage } from '../control/watch-events.ts';
import type { SeenCounts } from './graph.ts';

export interface FeedEvent extends MessageEvent {
  /** Sequence number within this dashboard (for SSE ids and ordering). */
  seq: number;
  /** `data.runId` of the message, when it has one (synthesis, evolver, learner kinds). */
  runId?: string;
  deadLetter?: boolean;
}

export interface FeedFilter {
  kind?: string;
  role?: string;
  run?: string;
}

export function matches(ev: FeedEvent, f: FeedFilter): boolean {
  if (f.kind && ev.kind !== f.kind && ev.kind !== `dead-letter ${f.kind}`) return false;
  if (f.role && ev.senderRole !== f.role) return false;
  if (f.run && ev.runId !== f.run) return false;
  return true;
}

const RUN_ID = /"runId"\s*:\s*"([^"\\]{1,200})"/;
/** Bodies are scanned for a run id only this far: big payloads cost no more than small ones. */
const RUN_SCAN_BYTES = 4096;

export class MessageFeed {
  private readonly ring: FeedEvent[] = [];
  private seq = 0;
  private readonly listeners = new Set<(ev: FeedEvent) => void>();
  private subs: Subscription[] = [];
  /** Counts per second (epoch s) → kind → sender, kept apart from the ring so a busy bus is not undercounted. */
  private readonly buckets = new Map<number, Map<string, Map<string, number>>>();

  constructor(
    private readonly capacity = 2000,
    readonly windowMs = 10_000,
  ) {}

  /** Subscribe on `nc`; stop with `close()`. */
  start(nc: NatsConnection): this {
    for (const subject of [ALL_MESSAGES, ALL_DEAD_LETTERS]) {
      const sub = nc.subscribe(subject);
      this.subs.push(sub);
      void (async () => {
        for await (const m of sub) this.add(m);
      })().catch((err) => console.error(`dashboard: message feed on ${subject} stopped: ${(err as Error).message}`));
    }
    return this;
  }

  add(m: RawMessage, now = Date.now()): FeedEvent {
    const base = eventFromMessage(m, now, { kindHeader: KIND_HEADER, messagePrefix: MESSAGE_PREFIX, deadLetterPrefix: DEAD_LETTER_PREFIX });
    const ev: FeedEvent = { ...base, seq: ++this.seq };
    const head = new TextDecoder().decode(m.data.subarray(0, RUN_SCAN_BYTES));
    const run = RUN_ID.exec(head);
    if (run) ev.runId = run[1];
    if (m.subject.startsWith(`${DEAD_LETTER_PREFIX}.`)) ev.deadLetter = true;
    if (!ev.deadLetter && ev.senderRole) this.count(ev.kind, ev.senderRole, now);
    this.ring.push(ev);
    if (this.ring.length > this.capacity) this.ring.splice(0, this.ring.length - this.capacity);
    for (const l of this.listeners) l(ev);
    return ev;
  }

  /** The newest `limit` events that pass `filter`, oldest first. */
  recent(filter: FeedFilter, limit: number): FeedEvent[] {
    const out: FeedEvent[] = [];
    for (let i = this.ring.length - 1; i >= 0 && out.length < limit; i--) if (matches(this.ring[i], filter)) out.push(this.ring[i]);
    return out.reverse();
  }

  /** Run ids seen recently, newest first. */
  runs(): string[] {
    const seen: string[] = [];
    for (let i = this.ring.length - 1; i >= 0; i--) {
      const r = this.ring[i].runId;
      if (r && !seen.includes(r)) seen.push(r);
    }
    return seen;
  }

  private count(kind: string, sender: string, now: number): void {
    const sec = Math.floor(now / 1000);
    let b = this.buckets.get(sec);
    if (!b) {
      this.buckets.set(sec, (b = new Map()));
      for (const s of this.buckets.keys()) if (s <= sec - this.windowMs / 1000) this.buckets.delete(s);
    }
    let by = b.get(kind);
    if (!by) b.set(kind, (by = new Map()));
    by.set(sender, (by.get(sender) ?? 0) + 1);
  }

  /** Per kind, per sender role: messages in the last `windowMs` (whole seconds; dead letters left out). */
  seen(now = Date.now()): SeenCounts {
    const out: SeenCounts = new Map();
    const from = Math.floor(now / 1000) - this.windowMs / 1000;
    for (const [sec, b] of this.buckets) {
      if (sec <= from) continue;
      for (const [kind, senders] of b) {
        let by = out.get(kind);
        if (!by) out.set(kind, (by = new Map()));
        for (const [role, n] of senders) by.set(role, (by.get(role) ?? 0) + n);
      }
    }
    return out;
  }

  subscribe(listener: (ev: FeedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.listeners.clear();
  }
}
