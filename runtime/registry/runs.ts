// The run table: every piece of work belongs to a run (`troupe synth`, `evolve`, `eval`, `train`),
// and a run is `running`, `cancelled` or `finished`. Hosts read it before working a message: a
// message of a cancelled run, or of a dead one (still `running` but its submitter stopped
// heartbeating), is acked with a record instead of being worked (runtime/host/host.ts).
import { hostname } from 'node:os';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { RunRecordSchema, type RunRecord } from '../../protocols/runtime-messages.ts';
import { RUNS_BUCKET } from '../../protocols/subjects.ts';

/** A submitter refreshes its run this often … */
export const RUN_HEARTBEAT_MS = 5_000;
/** … and a `running` run not refreshed for this long is dead (its submitter crashed or was killed). */
export const RUN_STALE_MS = 60_000;

export function openRuns(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).create(RUNS_BUCKET, { history: 5, storage: 'file' as never });
}

export async function getRun(kv: KV, runId: string): Promise<RunRecord | undefined> {
  const e = await kv.get(runKey(runId));
  if (!e || e.operation !== 'PUT') return undefined;
  const r = RunRecordSchema.safeParse(e.json());
  return r.success ? r.data : undefined;
}

export async function listRuns(kv: KV): Promise<RunRecord[]> {
  const keys: string[] = [];
  for await (const k of await kv.keys()) keys.push(k);
  const out: RunRecord[] = [];
  for (const k of keys) {
    const e = await kv.get(k);
    if (!e || e.operation !== 'PUT') continue;
    const r = RunRecordSchema.safeParse(e.json());
    if (r.success) out.push(r.data);
  }
  return out.sort((a, b) => b.startedAt - a.startedAt);
}

/** KV keys allow letters, digits, `-_=/.`: anything else in a run id becomes `_`. */
export function runKey(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_=/.-]/g, '_');
}

/** Whether the host works a message of this run: `work`, or why not. */
export type RunVerdict = 'work' | 'cancelled' | 'dead';

/** The decision for one run record (no record: work — runs older than the table, tests). */
export function runVerdict(rec: RunRecord | undefined, now = Date.now()): RunVerdict {
  if (!rec) return 'work';
  if (rec.state === 'cancelled') return 'cancelled';
  if (rec.state === 'running' && now - rec.heartbeatAt > RUN_STALE_MS) return 'dead';
  return 'work';
}

/**
 * A submitter's handle on its run: registers it as `running`, heartbeats until `finish`/`cancel`.
 * A run that is already cancelled stays cancelled (`cancelled()` tells the submitter).
 */
export class RunHandle {
  private timer?: NodeJS.Timeout;
  private rec!: RunRecord;
  private constructor(private readonly kv: KV) {}

  static async start(nc: NatsConnection, runId: string, by: string): Promise<RunHandle> {
    const h = new RunHandle(await openRuns(nc));
    const prior = await getRun(h.kv, runId);
    const now = Date.now();
    h.rec = prior?.state === 'cancelled' ? prior : { runId, state: 'running', by, host: hostname(), pid: process.pid, startedAt: prior?.startedAt ?? now, heartbeatAt: now };
    if (h.rec.state === 'running') await h.put();
    h.timer = setInterval(() => void h.beat(), RUN_HEARTBEAT_MS);
    h.timer.unref();
    return h;
  }

  get runId(): string {
    return this.rec.runId;
  }

  /** True once someone cancelled the run (`troupe cancel`), read fresh from the table. */
  async cancelled(): Promise<boolean> {
    return (await getRun(this.kv, this.rec.runId))?.state === 'cancelled';
  }

  private async put(): Promise<void> {
    await this.kv.put(runKey(this.rec.runId), JSON.stringify(this.rec));
  }

  private async beat(): Promise<void> {
    if (this.rec.state !== 'running') return;
    const cur = await getRun(this.kv, this.rec.runId).catch(() => undefined);
    if (cur?.state === 'cancelled') {
      // Someone cancelled it: keep their record, stop refreshing.
      this.rec = cur;
      clearInterval(this.timer);
      return;
    }
    this.rec = { ...this.rec, heartbeatAt: Date.now() };
    await this.put().catch(() => {});
  }

  async finish(reason?: string): Promise<void> {
    clearInterval(this.timer);
    if (await this.cancelled().catch(() => false)) return;
    this.rec = { ...this.rec, state: 'finished', endedAt: Date.now(), heartbeatAt: Date.now(), ...(reason ? { reason } : {}) };
    await this.put();
  }

  async cancel(reason: string): Promise<void> {
    clearInterval(this.timer);
    await cancelRun(this.kv, this.rec.runId, reason, this.rec.by);
  }
}

/** Mark a run cancelled (`troupe cancel RUN`); hosts drop its remaining messages. */
export async function cancelRun(kv: KV, runId: string, reason: string, by = 'troupe cancel'): Promise<RunRecord> {
  const prior = await getRun(kv, runId);
  const now = Date.now();
  const rec: RunRecord = { ...(prior ?? { runId, by, startedAt: now, heartbeatAt: now }), state: 'cancelled', endedAt: now, reason };
  await kv.put(runKey(runId), JSON.stringify(rec));
  return rec;
}
