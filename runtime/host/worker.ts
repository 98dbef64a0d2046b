// A worker process hosts one or more role instances: loads each role module, starts a RoleHost,
// keeps its registry entry alive, answers drain requests, and drains everything on SIGTERM/SIGINT.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsSettings } from '../nats/connect.ts';
import { InstanceControlSchema, type InstanceRecord } from '../../protocols/runtime-messages.ts';
import { instanceControlSubject } from '../../protocols/subjects.ts';
import { Bus } from '../nats/bus.ts';
import { getInstructions, openInstructions, seedInstructions } from '../instructions/instructions.ts';
import { LiveKeys } from '../instructions/live.ts';
import { HEARTBEAT_MS, openRegistry, putInstance, removeInstance } from '../registry/registry.ts';
import { loadRole, type RoleCatalog } from './catalog.ts';
import { RoleHost } from './host.ts';

export interface WorkerRoleSpec {
  role: string;
  /** Module path of the implementation (default: the catalog's module for `role`). */
  impl?: string;
  model?: string;
  /** Instance id (default: `<role>-<random>`). */
  instance?: string;
  concurrency?: number;
  /**
   * Instructions revision to pin. Without one the instance follows its key live: each item runs with
   * the revisions of `<role>` and `params.<role>` current when it started (and a synthesis role
   * resolves its items' run override keys through the same live view).
   */
  instructionsRevision?: number;
}

export interface WorkerOptions {
  nc: NatsConnection;
  /** How `nc` was made; handed to roles that pass the society's address on (RoleContext.nats). */
  natsSettings?: NatsSettings;
  roles: WorkerRoleSpec[];
  /** Roles by name (the CLI's table); an `impl` module path needs no entry. */
  catalog: RoleCatalog;
  ackWaitMs?: number;
  maxDeliver?: number;
  log?: (line: string) => void;
}

export interface HostedInstance {
  host: RoleHost;
  record: () => InstanceRecord;
}

export function newInstanceId(role: string): string {
  return `${role}-${randomBytes(3).toString('hex')}`;
}

export class Worker {
  readonly instances = new Map<string, { host: RoleHost; spec: WorkerRoleSpec; startedAt: number; instructionsRevision?: number }>();
  private unwatch: (() => void)[] = [];
  private live?: LiveKeys;
  private registry!: KV;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Resolves when every hosted instance has drained. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(readonly opts: WorkerOptions) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  private log(line: string) {
    (this.opts.log ?? ((l: string) => console.error(l)))(line);
  }

  async start(): Promise<void> {
    const { nc } = this.opts;
    this.registry = await openRegistry(nc);
    const instructionsKv = await openInstructions(nc);
    const live = (this.live = new LiveKeys(instructionsKv, (l) => this.log(l)));
    for (const spec of this.opts.roles) {
      const { def, defaultInstructions } = await loadRole(spec.impl ?? spec.role, spec.role, { nc, model: spec.model, nats: this.opts.natsSettings }, this.opts.catalog);
      const instance = spec.instance ?? newInstanceId(spec.role);
      // A role that ships default instructions starts from them when nobody has written its key yet.
      if (defaultInstructions && spec.instructionsRevision === undefined) {
        await seedInstructions(instructionsKv, spec.role, defaultInstructions, { author: 'troupe worker (role default)', note: 'default instructions' });
      }
      const instr = await getInstructions(instructionsKv, spec.role, spec.instructionsRevision);
      const bus = new Bus(nc, { role: def.name, instance, impl: def.impl });
      const host = new RoleHost({
        bus,
        role: def,
        instance,
        concurrency: spec.concurrency,
        ackWaitMs: this.opts.ackWaitMs,
        maxDeliver: this.opts.maxDeliver,
        model: spec.model,
        instructions: instr ? { text: instr.text, revision: instr.revision } : undefined,
        live: spec.instructionsRevision === undefined ? { source: live, instructionsKey: spec.role } : undefined,
        log: (l) => this.log(l),
      });
      this.instances.set(instance, { host, spec, startedAt: Date.now(), instructionsRevision: instr?.revision });
      nc.subscribe(instanceControlSubject(instance), {
        callback: (err, msg) => {
          if (err) return;
          const req = InstanceControlSchema.safeParse(safeParse(msg.data));
          if (!req.success) {
            msg.respond(JSON.stringify({ ok: false, error: `bad control request: ${req.error.message}` }));
            return;
          }
          void this.drainInstance(instance).then(
            () => msg.respond(JSON.stringify({ ok: true, ...host.stats() })),
            (e) => msg.respond(JSON.stringify({ ok: false, error: String(e) })),
          );
        },
      });
      if (spec.instructionsRevision === undefined) {
        // The registry shows the revision the next item will start with.
        await live.current(spec.role);
        this.unwatch.push(
          live.onUpdate((key, revision) => {
            const e = this.instances.get(instance);
            if (key !== spec.role || !e || e.host.state === 'stopped') return;
            e.instructionsRevision = revision;
            this.log(`[${instance}] now on instructions r${revision}`);
            void this.beat(instance);
          }),
        );
      }
      await host.start();
      await this.beat(instance);
      this.log(`[${instance}] ${def.name} ready (impl ${def.impl}${spec.model ? `, model ${spec.model}` : ''}${instr ? `, instructions r${instr.revision}` : ''})`);
    }
    this.timer = setInterval(() => void this.beatAll(), HEARTBEAT_MS);
    this.timer.unref();
  }

  recordOf(instance: string): InstanceRecord {
    const e = this.instances.get(instance)!;
    const s = e.host.stats();
    return {
      instance,
      role: e.host.role.name,
      impl: e.host.role.impl,
      version: e.host.role.version,
      model: e.spec.model,
      instructionsRevision: e.instructionsRevision,
      host: hostname(),
      pid: process.pid,
      startedAt: e.startedAt,
      heartbeatAt: Date.now(),
      state: s.state,
      inFlight: s.inFlight,
      handled: s.handled,
      failed: s.failed,
      deadLettered: e.host.opts.bus.deadLettered,
      restarts: s.restarts,
    };
  }

  private async beat(instance: string): Promise<void> {
    const e = this.instances.get(instance);
    if (!e || e.host.state === 'stopped') return;
    await putInstance(this.registry, this.recordOf(instance)).catch((err) => this.log(`registry heartbeat failed: ${err.message}`));
  }

  private async beatAll(): Promise<void> {
    for (const id of this.instances.keys()) await this.beat(id);
  }

  /** Drain one instance: stop pulling, finish in-flight work, leave the registry. */
  async drainInstance(instance: string): Promise<void> {
    const e = this.instances.get(instance);
    if (!e) throw new Error(`no instance ${instance} here`);
    if (e.host.state === 'stopped') return;
    const drained = e.host.drain();
    await this.beat(instance);
    await drained;
    await removeInstance(this.registry, instance);
    this.log(`[${instance}] drained (handled ${e.host.handled})`);
    if ([...this.instances.values()].every((x) => x.host.state === 'stopped')) this.finish();
  }

  async drainAll(): Promise<void> {
    await Promise.all([...this.instances.keys()].map((id) => this.drainInstance(id)));
    this.finish();
  }

  private finish() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unwatch) u();
    this.live?.close();
    this.resolveDone();
  }
}

function safeParse(b: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(b));
  } catch {
    return undefined;
  }
}
