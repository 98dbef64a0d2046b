// The society process behind `troupe up`: owns the NATS session (embedded server unless a URL is
// given), starts each role replica as a child worker process, restarts crashed ones with backoff,
// performs hot swaps, and serves the gRPC control plane.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { EnvelopeSchema, type Envelope } from '../../protocols/envelope.ts';
import type { InstanceRecord } from '../../protocols/runtime-messages.ts';
import { ALL_MESSAGES, instanceControlSubject, kindOfSubject, KIND_HEADER } from '../../protocols/subjects.ts';
import { ControlError, startControlServer, generateControlToken, writeControlEndpoint, type ControlHandlers, type ControlServer } from '../control/index.ts';
import type { MessageEvent, RoleInstance, SwapRequest, SwapResult, WatchFilter } from '../control/types.ts';
import { REPO_ROOT, loadRole, type RoleCatalog } from '../host/catalog.ts';
import type { RoleDefinition } from '../host/role.ts';
import { newInstanceId, type WorkerRoleSpec } from '../host/worker.ts';
import { getInstructions, openInstructions, setInstructions } from '../instructions/instructions.ts';
import { natsSettingsToEnv, redactUrl, type NatsSettings } from '../nats/connect.ts';
import { newRunId, openNatsSession, runDir as makeRunDir, type NatsSession } from '../nats/session.ts';
import { listInstances, openRegistry } from '../registry/registry.ts';
import { traceIdFromHeaders } from '../tracing/index.ts';
import type { SocietyConfig } from './config.ts';
import { writeNatsCredentials, writeSocietyState } from './state.ts';

const BIN = join(REPO_ROOT, 'bin', 'troupe.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Slot {
  instance: string;
  spec: WorkerRoleSpec;
  child?: ChildProcess;
  restarts: number;
  /** Set when the society itself asked this instance to go (swap or shutdown): no restart. */
  retiring: boolean;
  exited: Promise<void>;
}

export interface SocietyOptions {
  config: SocietyConfig;
  /** Roles by name (the CLI's table); a role config's `impl` module path needs no entry. */
  catalog: RoleCatalog;
  nats?: NatsSettings;
  runId?: string;
  /** Start the gRPC control plane (default true). */
  control?: boolean;
  /** Extra environment for every worker (e.g. the shared model server's address, role settings). */
  workerEnv?: Record<string, string>;
  /**
   * Started by a command for its own work (`troupe synth` with no society running): other commands
   * do not submit to it, since it goes away when its command ends.
   */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

function catalogModule(catalog: RoleCatalog, role: string): string | undefined {
  const e = Object.hasOwn(catalog, role) ? catalog[role] : undefined;
  return e ? resolve(REPO_ROOT, e.module) : undefined;
}

export class Society {
  readonly runId: string;
  readonly runDir: string;
  session!: NatsSession;
  control?: ControlServer;
  controlToken?: string;
  private registry!: KV;
  private instructionsKv!: KV;
  private readonly slots = new Map<string, Slot>();
  /** Current spec per role (what new replicas start with). */
  private readonly roleSpecs = new Map<string, { spec: Omit<WorkerRoleSpec, 'instance'>; replicas: number }>();
  private stopping = false;
  private swapping = new Set<string>();
  /** Kinds each role's current implementation consumes and produces (the dashboard draws edges from them). */
  private readonly kinds = new Map<string, RoleKinds>();

  constructor(readonly opts: SocietyOptions) {
    this.runId = opts.runId ?? newRunId();
    this.runDir = makeRunDir(this.runId);
  }

  get nc(): NatsConnection {
    return this.session.nc;
  }

  private log(line: string) {
    (this.opts.log ?? ((l: string) => console.error(l)))(line);
  }

  async start(): Promise<void> {
    mkdirSync(join(this.runDir, 'logs'), { recursive: true });
    this.session = await openNatsSession(this.opts.nats, { runDir: this.runDir, name: 'troupe-society' });
    this.registry = await openRegistry(this.nc);
    this.instructionsKv = await openInstructions(this.nc);
    if (this.session.embedded) this.log(`embedded nats-server at ${this.session.settings.url} (store ${this.session.embedded.storeDir})`);
    const cfg = this.opts.config;
    for (const [role, rc] of Object.entries(cfg.roles)) {
      const { def } = await loadRole(rc.impl ?? role, role, { nc: this.nc, model: rc.model }, this.opts.catalog); // fail fast on a bad module, before any process starts
      this.kinds.set(role, kindsOf(def));
      let instructionsRevision: number | undefined;
      if (rc.instructions) {
        const text = readFileSync(resolve(rc.instructions), 'utf8');
        const cur = await getInstructions(this.instructionsKv, role);
        instructionsRevision = cur && cur.text === text ? cur.revision : (await setInstructions(this.instructionsKv, role, text, { author: 'troupe up', note: rc.instructions })).revision;
      }
      this.roleSpecs.set(role, {
        // Workers are separate processes: they get the module path the catalog names for the role.
        spec: { role, impl: rc.impl ?? catalogModule(this.opts.catalog, role), model: rc.model, concurrency: rc.concurrency, instructionsRevision },
        replicas: rc.replicas,
      });
    }
    const started: string[] = [];
    for (const [, { spec, replicas }] of this.roleSpecs) {
      for (let i = 0; i < replicas; i++) started.push(this.spawnSlot({ ...spec, instance: newInstanceId(spec.role) }));
    }
    await this.waitReady(started);
    if (this.opts.control !== false) {
      this.controlToken = generateControlToken();
      const tls = cfg.control?.tls;
      const pem = (what: string, file: string) => {
        try {
          return readFileSync(resolve(file));
        } catch (err) {
          throw new Error(`control plane TLS ${what} ${file}: ${(err as Error).message}`);
        }
      };
      this.control = await startControlServer({
        token: this.controlToken,
        handlers: this.handlers(),
        port: cfg.controlPort ?? 0,
        host: cfg.control?.host,
        tls: tls ? { cert: pem('cert', tls.cert), key: pem('key', tls.key) } : undefined,
      });
      // Clients (ps, swap, watch) trust the CA named here; with a self-signed cert that is the cert itself.
      const tlsCa = tls ? resolve(tls.ca ?? tls.cert) : undefined;
      writeControlEndpoint(this.runDir, { address: this.control.address, token: this.controlToken, pid: process.pid, tlsCa });
    }
    if (this.session.embedded) {
      const { url, user, pass } = this.session.embedded;
      writeNatsCredentials(this.runDir, { url, user, pass });
    }
    writeSocietyState({
      runId: this.runId,
      runDir: this.runDir,
      pid: process.pid,
      startedAt: Date.now(),
      natsUrl: redactUrl(this.session.settings.url),
      embeddedNats: !!this.session.embedded,
      natsPid: this.session.embedded?.pid,
      controlAddress: this.control?.address ?? '',
      ...(this.opts.ephemeral ? { ephemeral: true } : {}),
    });
  }

  /** Start one worker child for `spec`; restart it with backoff if it dies unasked. */
  private spawnSlot(spec: WorkerRoleSpec): string {
    const instance = spec.instance!;
    const slot: Slot = this.slots.get(instance) ?? { instance, spec, restarts: 0, retiring: false, exited: Promise.resolve() };
    this.slots.set(instance, slot);
    const log = createWriteStream(join(this.runDir, 'logs', `${instance}.log`), { flags: 'a' });
    const env = {
      ...process.env,
      ...natsSettingsToEnv(this.session.settings),
      TROUPE_RUN_DIR: this.runDir,
      TROUPE_PARENT_PID: String(process.pid),
      ...(this.opts.workerEnv ?? {}),
      ...(this.opts.config.ackWaitMs ? { TROUPE_ACK_WAIT_MS: String(this.opts.config.ackWaitMs) } : {}),
      ...(this.opts.config.maxDeliver ? { TROUPE_MAX_DELIVER: String(this.opts.config.maxDeliver) } : {}),
    };
    const child = spawn(process.execPath, [BIN, 'worker', '--spec', JSON.stringify([spec])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    slot.child = child;
    const started = Date.now();
    slot.exited = new Promise<void>((res) => {
      child.on('exit', (code, signal) => {
        log.end();
        res();
        if (slot.retiring || this.stopping) {
          this.slots.delete(instance);
          return;
        }
        // A crash: restart the same instance id with exponential backoff (reset after a minute up).
        if (Date.now() - started > 60_000) slot.restarts = 0;
        const delay = Math.min(500 * 2 ** slot.restarts, 30_000);
        slot.restarts++;
        this.log(`[society] ${instance} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`);
        setTimeout(() => {
          if (!this.stopping && !slot.retiring) this.spawnSlot(slot.spec);
        }, delay).unref();
      });
    });
    return instance;
  }

  /** Wait until every instance is in the registry and ready. */
  async waitReady(instances: string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = new Map((await listInstances(this.registry)).map((r) => [r.instance, r]));
      const missing = instances.filter((i) => live.get(i)?.state !== 'ready');
      if (!missing.length) return;
      for (const i of missing) {
        const slot = this.slots.get(i);
        // Gone, or crashed at least once while starting: do not wait out the timeout.
        if (!slot || slot.restarts > 0) throw new Error(`instance ${i} exited before it became ready (see ${join(this.runDir, 'logs', `${i}.log`)})`);
      }
      if (Date.now() > deadline) throw new Error(`instances not ready after ${timeoutMs} ms: ${missing.join(', ')} (logs in ${join(this.runDir, 'logs')})`);
      await sleep(100);
    }
  }

  /** Live instances from the registry (all roles, including workers that joined from elsewhere). */
  async instances(role?: string): Promise<InstanceRecord[]> {
    return (await listInstances(this.registry)).filter((r) => !role || r.role === role);
  }

  /** Message kinds per role of this society, as its current implementations declare them. */
  roleKinds(): Record<string, RoleKinds> {
    return Object.fromEntries(this.kinds);
  }

  /** Children this society runs (pid per instance), for tests and `down`. */
  children(): { instance: string; role: string; pid?: number }[] {
    return [...this.slots.values()].map((s) => ({ instance: s.instance, role: s.spec.role, pid: s.child?.pid }));
  }

  /**
   * Hot swap: start the new replicas, wait until they pull, then ask each old instance to drain
   * (stop pulling, hand back buffered messages, finish and ack in-flight ones) and wait for it to exit.
   */
  async swap(req: SwapRequest): Promise<SwapResult> {
    const { role } = req;
    const cur = this.roleSpecs.get(role);
    if (!cur) throw new ControlError('NOT_FOUND', `role "${role}" is not part of this society (roles: ${[...this.roleSpecs.keys()].join(', ')})`);
    if (this.swapping.has(role)) throw new ControlError('FAILED_PRECONDITION', `a swap of ${role} is already in progress`);
    this.swapping.add(role);
    try {
      const spec = { ...cur.spec };
      let nowServing: string;
      let newKinds: RoleKinds | undefined;
      if (req.implModule !== undefined) {
        const { def, module } = await loadRole(req.implModule, role, { nc: this.nc, model: cur.spec.model }, this.opts.catalog).catch((e) => {
          throw new ControlError('INVALID_ARGUMENT', e.message);
        });
        spec.impl = module;
        nowServing = def.impl;
        newKinds = kindsOf(def);
      } else if (req.model !== undefined) {
        spec.model = req.model;
        nowServing = `model ${req.model}`;
      } else if (req.instructions !== undefined) {
        const r = await setInstructions(this.instructionsKv, role, req.instructions, { author: 'troupe swap' });
        spec.instructionsRevision = r.revision;
        nowServing = `instructions r${r.revision}`;
      } else {
        throw new ControlError('INVALID_ARGUMENT', 'swap needs one of impl module, model or instructions');
      }
      // Old = the instances of the role this society started (running, or between a crash and their
      // restart). A worker someone joined by hand is not ours to end: it keeps serving, on its own spec.
      const old = [...this.slots.values()].filter((s) => s.spec.role === role && !s.retiring).map((s) => s.instance);
      // The role's replica count stays: the configured count (or more, if more of ours are running).
      const replicas = Math.max(cur.replicas, old.length);
      const fresh: string[] = [];
      for (let i = 0; i < replicas; i++) fresh.push(this.spawnSlot({ ...spec, instance: newInstanceId(role) }));
      try {
        await this.waitReady(fresh);
      } catch (err) {
        for (const id of fresh) await this.retire(id);
        throw new ControlError('FAILED_PRECONDITION', `new ${role} instances did not start: ${(err as Error).message}`);
      }
      this.roleSpecs.set(role, { spec, replicas });
      if (newKinds) this.kinds.set(role, newKinds);
      await Promise.all(old.map((id) => this.retire(id)));
      this.log(`[society] swapped ${role}: ${old.join(', ')} → ${fresh.join(', ')} (${nowServing})`);
      return { role, oldInstanceIds: old, newInstanceIds: fresh, nowServing, message: `${role} now serves ${nowServing}` };
    } finally {
      this.swapping.delete(role);
    }
  }

  /** Ask an instance to drain over NATS (works for workers on other machines too); wait for our child to exit. */
  async retire(instance: string): Promise<void> {
    const slot = this.slots.get(instance);
    if (slot) slot.retiring = true;
    try {
      const reply = await this.nc.request(instanceControlSubject(instance), JSON.stringify({ op: 'drain' }), { timeout: 120_000 });
      const r = reply.json<{ ok: boolean; error?: string }>();
      if (!r.ok) this.log(`[society] drain of ${instance} failed: ${r.error}`);
    } catch (err) {
      this.log(`[society] drain request to ${instance} failed (${(err as Error).message}); terminating it`);
      slot?.child?.kill('SIGTERM');
    }
    if (!slot) return;
    const killer = setTimeout(() => slot.child?.kill('SIGKILL'), 30_000);
    await slot.exited;
    clearTimeout(killer);
    this.slots.delete(instance); // also when it had already died (crashed, restart pending)
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const slots = [...this.slots.values()];
    for (const s of slots) {
      s.retiring = true;
      s.child?.kill('SIGTERM'); // workers drain on SIGTERM
    }
    const all = Promise.all(slots.map((s) => s.exited));
    const timer = setTimeout(() => slots.forEach((s) => s.child?.kill('SIGKILL')), 30_000);
    await all;
    clearTimeout(timer);
    await this.control?.stop();
    await this.session?.close();
  }

  handlers(): ControlHandlers {
    return {
      listRoles: async (role) => (await this.instances(role)).map(toRoleInstance),
      swapRole: (req) => this.swap(req),
      getInstructions: async (role) => {
        const i = await getInstructions(this.instructionsKv, role);
        return { role, text: i?.text ?? '', revision: i?.revision ?? 0 };
      },
      setInstructions: async (role, text) => {
        const i = await setInstructions(this.instructionsKv, role, text, { author: 'control' });
        return { role, text: i.text, revision: i.revision };
      },
      watchMessages: (filter, signal) => watchMessages(this.nc, filter, signal),
    };
  }
}

export interface RoleKinds {
  consumes: string[];
  produces: string[];
}

function kindsOf(def: RoleDefinition): RoleKinds {
  return { consumes: def.consumes.map((m) => m.kind), produces: def.produces.map((m) => m.kind) };
}

export function toRoleInstance(r: InstanceRecord): RoleInstance {
  return {
    role: r.role,
    implementation: r.impl,
    version: r.version,
    instanceId: r.instance,
    host: r.host,
    pid: r.pid,
    heartbeatMs: r.heartbeatAt,
    inFlight: r.inFlight,
    model: r.model ?? '',
    handled: r.handled,
    failed: r.failed,
    deadLettered: r.deadLettered,
    instructionsRevision: r.instructionsRevision ?? 0,
    state: r.state,
  };
}

/** Live message flow as control-plane events: a core subscription on every message subject. */
export async function* watchMessages(nc: NatsConnection, filter: WatchFilter, signal: AbortSignal): AsyncIterable<MessageEvent> {
  const sub = nc.subscribe(filter.subject || ALL_MESSAGES);
  const stop = () => sub.unsubscribe();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of sub) {
      const kind = m.headers?.get(KIND_HEADER) || kindOfSubject(m.subject) || '';
      if (filter.kinds?.length && !filter.kinds.includes(kind)) continue;
      const env = peekEnvelope(m.data);
      const now = Date.now();
      yield {
        subject: m.subject,
        kind,
        size: m.data.length,
        latencyMs: env ? now - env.sentAt : 0,
        traceId: traceIdFromHeaders(m.headers) ?? '',
        time: now,
        senderRole: env?.from.role,
        messageId: env?.id,
      };
    }
  } finally {
    signal.removeEventListener('abort', stop);
    stop();
  }
}

/** Envelope fields of a body without validating its data (observers need only id, sender, time). */
function peekEnvelope(body: Uint8Array): Envelope | undefined {
  try {
    const r = EnvelopeSchema.safeParse(JSON.parse(new TextDecoder().decode(body)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
