// Live view of keys in the instructions KV bucket: a key is read once on first use and then kept
// current by a watch on it (one watch per key, opened lazily, stopped on close), so a role can ask
// for the current revision at the start of every work item without a KV round trip, and a new
// revision is picked up by the next item without a restart.
//
// Race-free start: the watch (updates only) is opened BEFORE the first read, and the cache only ever
// moves to a higher revision, so a write landing between the two is seen by one or the other.
import type { KV, KvEntry } from '@nats-io/kv';
import type { z } from 'zod';
import { InstructionsValueSchema } from './instructions.ts';
import { ValueEnvelopeSchema } from './lineage.ts';

/** What a key holds at its latest revision: the raw JSON envelope, or nothing (never set, deleted). */
interface Slot {
  revision: number;
  json: unknown | null;
}

export interface LiveInstructions {
  key: string;
  revision: number;
  text: string;
}

export interface LiveValue<T> {
  key: string;
  revision: number;
  value: T;
}

/** The bad entry's key and revision lead the message, so a failed item names what to fix. */
export class LiveValueError extends Error {
  constructor(
    readonly key: string,
    readonly revision: number,
    detail: string,
  ) {
    super(`${key}@${revision}: ${detail}`);
    this.name = 'LiveValueError';
  }
}

/** Read side the host and roles need (a test may give a fixed one). */
export interface LiveSource {
  /**
   * Current instructions text at `key`; null when the key was never set (or is deleted). With
   * `atLeast`: a revision at least that high (read again when the view is behind; an error when
   * the bucket itself is behind).
   */
  instructions(key: string, atLeast?: number): Promise<LiveInstructions | null>;
  /** Current typed value at `key` (`params.<role>`, `plan.<name>`), checked against `schema`; null when unset. `atLeast` as above. */
  value<T>(key: string, schema: z.ZodType<T>, atLeast?: number): Promise<LiveValue<T> | null>;
}

export class LiveKeys implements LiveSource {
  private readonly slots = new Map<string, Slot>();
  /** One pending start per key, so concurrent first uses share one read and one watch. */
  private readonly starting = new Map<string, Promise<Slot>>();
  private readonly stops: (() => void)[] = [];
  private readonly listeners = new Set<(key: string, revision: number) => void>();
  private closed = false;

  constructor(
    private readonly kv: KV,
    private readonly log: (line: string) => void = (l) => console.error(l),
  ) {}

  /** Keys being watched (for tests and `troupe ps`-style reporting). */
  watchedKeys(): string[] {
    return [...this.slots.keys()];
  }

  /**
   * Latest revision of `key` as raw JSON (null when unset); opens the key's watch on first use. With
   * `atLeast` above the cached revision, the key is read from the bucket (the watch may lag behind a
   * write the caller already knows of); still lower there: an error (the write is not in the bucket).
   */
  async current(key: string, atLeast = 0): Promise<{ revision: number; json: unknown | null }> {
    if (this.closed) throw new Error(`live instructions: closed (asked for ${key})`);
    const s = this.slots.get(key) ?? (await this.start(key));
    if (s.revision < atLeast) {
      const e = await this.kv.get(key);
      if (e) this.apply(key, s, e);
      if (s.revision < atLeast) throw new LiveValueError(key, s.revision, `revision ${atLeast} or later wanted, the bucket has ${s.revision}`);
    }
    return { revision: s.revision, json: s.json };
  }

  async instructions(key: string, atLeast?: number): Promise<LiveInstructions | null> {
    const { revision, json } = await this.current(key, atLeast);
    if (json === null) return null;
    const r = InstructionsValueSchema.safeParse(json);
    if (!r.success) throw new LiveValueError(key, revision, `not an instructions entry (${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
    return { key, revision, text: r.data.text };
  }

  async value<T>(key: string, schema: z.ZodType<T>, atLeast?: number): Promise<LiveValue<T> | null> {
    const { revision, json } = await this.current(key, atLeast);
    if (json === null) return null;
    const env = ValueEnvelopeSchema.safeParse(json);
    if (!env.success || !('value' in env.data)) throw new LiveValueError(key, revision, 'not a value entry (no "value" field)');
    const r = schema.safeParse(env.data.value);
    if (!r.success) throw new LiveValueError(key, revision, `invalid value: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    return { key, revision, value: r.data };
  }

  /** Be told of every new revision of a watched key (after the cache took it). Returns an unsubscribe. */
  onUpdate(listener: (key: string, revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stop every watch. Later reads fail. */
  close(): void {
    this.closed = true;
    for (const stop of this.stops.splice(0)) stop();
  }

  private start(key: string): Promise<Slot> {
    let p = this.starting.get(key);
    if (!p) {
      p = this.open(key).finally(() => this.starting.delete(key));
      this.starting.set(key, p);
    }
    return p;
  }

  private async open(key: string): Promise<Slot> {
    const it = await this.kv.watch({ key, include: 'updates' as never });
    if (this.closed) {
      it.stop();
      throw new Error(`live instructions: closed (asked for ${key})`);
    }
    this.stops.push(() => it.stop());
    const slot: Slot = { revision: 0, json: null };
    this.slots.set(key, slot);
    void (async () => {
      try {
        for await (const e of it) this.apply(key, slot, e);
      } catch (err) {
        if (!this.closed) this.log(`live instructions: watch on ${key} ended: ${(err as Error).message}`);
      }
    })();
    const e = await this.kv.get(key);
    if (e) this.apply(key, slot, e);
    return slot;
  }

  private apply(key: string, slot: Slot, e: KvEntry): void {
    if (e.revision <= slot.revision) return; // only ever forward: the read and the watch may overlap
    slot.revision = e.revision;
    if (e.operation !== 'PUT') slot.json = null;
    else {
      try {
        slot.json = e.json();
      } catch {
        // Kept as a marker: the reader reports key@revision instead of silently using an older revision.
        slot.json = { __unparsable: new TextDecoder().decode(e.value).slice(0, 80) };
        this.log(`live instructions: ${key}@${e.revision} is not JSON`);
      }
    }
    for (const l of this.listeners) l(key, e.revision);
  }
}
