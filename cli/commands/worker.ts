// `troupe worker --roles a,b --nats URL`: host role instances in this process and join a society.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Worker, type WorkerRoleSpec } from '../../runtime/host/worker.ts';
import { connectNats, natsCliOptions, natsSettingsFromFlags, type NatsSettings } from '../../runtime/nats/connect.ts';
import { findSociety, isAlive, readNatsCredentials } from '../../runtime/society/state.ts';
import { ensureStreams } from '../../runtime/nats/streams.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { ROLES } from '../roles.ts';

const HELP = `usage: troupe worker --roles ROLE[,ROLE...] [--impl ROLE=MODULE] [--model ROLE=MODEL] [--concurrency N] [--nats URL | --run-id ID]

Hosts the given roles in this process and joins the society on that NATS server (without --nats: the
embedded server of the society running on this machine, latest or --run-id). Credentials:
--nats-user/--nats-pass, --nats-token, --nats-nkey-seed; TLS: --nats-tls-ca/-cert/-key (or the
TROUPE_NATS_* environment variables). SIGTERM/SIGINT drain in-flight work before exiting.

Instructions are followed live: unless a revision is pinned, every item runs with the revisions of
the role's key and of params.<ROLE> in the instructions bucket that are current when it starts (a
synthesis role also honours its items' run override keys). The synthesis roles (meta-planner,
scriptwriter, critic, verifier) take their model from --model or TROUPE_<ROLE>_MODEL / _BASE_URL /
_API_KEY_ENV (default: the embedded local model); TROUPE_CRITIC_REVIEW=off and
TROUPE_VERIFIER_CHECKER_MODE=code select the critic's checks-only mode and the verifier's code mode.

The actor and user-simulator answer dialogue turns on troupe.rpc.agent|user.<domain> (one machine per
turn); model as above (TROUPE_ACTOR_MODEL, TROUPE_USER_SIMULATOR_MODEL), domains from
TROUPE_ACTOR_DOMAINS / TROUPE_USER_SIMULATOR_DOMAINS (default all), the user simulator's tasks from
the domain's τ² tasks or TROUPE_USER_SIMULATOR_TASKS. The evolver runs evolve sessions
(evolver.run.requested; model TROUPE_EVOLVER_MODEL) and the learner training runs
(learn.run.requested) against the society this worker joins.`;

const SpecSchema = z.array(
  z.object({
    role: z.string(),
    impl: z.string().optional(),
    model: z.string().optional(),
    instance: z.string().optional(),
    concurrency: z.number().int().positive().optional(),
    instructionsRevision: z.number().int().positive().optional(),
  }),
);

/** The embedded nats-server of a society running on this machine (its run dir holds the credential). */
function localSocietyNats(runId: string | undefined): NatsSettings {
  let creds;
  try {
    creds = readNatsCredentials(findSociety(runId).runDir);
  } catch (err) {
    throw new Error(`no NATS server given (--nats URL or TROUPE_NATS_URL) and ${(err as Error).message}`);
  }
  if (!creds) throw new Error('no NATS server given: pass --nats URL or set TROUPE_NATS_URL (the local society uses an external server)');
  return creds;
}

function positiveEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

function pairs(list: string[] | undefined, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of list ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new Error(`--${flag} expects ROLE=VALUE, got "${p}"`);
    out.set(p.slice(0, i), p.slice(i + 1));
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions,
      roles: { type: 'string' },
      impl: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      'run-id': { type: 'string' },
      spec: { type: 'string' }, // internal: JSON list of WorkerRoleSpec, used by `troupe up`
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  let roles: WorkerRoleSpec[];
  if (values.spec) {
    roles = SpecSchema.parse(JSON.parse(values.spec));
  } else {
    if (!values.roles) throw new Error(`--roles is required\n\n${HELP}`);
    const impls = pairs(values.impl, 'impl');
    const models = pairs(values.model, 'model');
    const concurrency = values.concurrency ? Number(values.concurrency) : undefined;
    if (concurrency !== undefined && !(concurrency > 0)) throw new Error('--concurrency must be a positive number');
    roles = values.roles.split(',').map((r) => r.trim()).filter(Boolean).map((role) => ({ role, impl: impls.get(role), model: models.get(role), concurrency }));
  }
  const settings = natsSettingsFromFlags(values) ?? localSocietyNats(values['run-id']);
  const ackWaitMs = positiveEnv('TROUPE_ACK_WAIT_MS');
  const maxDeliver = positiveEnv('TROUPE_MAX_DELIVER');
  const names = roles.map((r) => r.role).join(',');
  // TROUPE_TRACING=off skips span recording entirely (about a quarter of a busy role's CPU goes to it).
  const tracing = process.env.TROUPE_TRACING === 'off' ? undefined : initTracing({
    serviceName: `worker-${names}`,
    role: names,
    instanceId: roles.length === 1 ? roles[0].instance : undefined,
  });
  let nc;
  try {
    nc = await connectNats({ ...settings, name: `troupe-worker ${names}` });
    await ensureStreams(nc);
  } catch (err) {
    console.error(`troupe worker: ${(err as Error).message}`);
    await nc?.close().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    process.exit(1);
  }
  const env = process.env;
  const worker = new Worker({
    nc,
    natsSettings: settings,
    roles,
    catalog: ROLES,
    ackWaitMs,
    maxDeliver,
  });
  // Our stdout/stderr are pipes to the society's log files: if it dies they break, and a failed log
  // write must not kill a worker that is draining.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  const onSignal = () => void worker.drainAll();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await worker.start();
  } catch (err) {
    // Nothing may keep a worker that failed to start alive (the NATS connection would): say why, exit.
    console.error(`troupe worker: ${(err as Error).message}`);
    await nc.close().catch(() => {});
    await tracing?.shutdown().catch(() => {});
    process.exit(1);
  }
  // Started by a society: if it dies without stopping us (SIGKILL), drain and leave rather than linger.
  const parent = Number(env.TROUPE_PARENT_PID);
  if (parent > 0) {
    const watch = setInterval(() => {
      if (isAlive(parent)) return;
      clearInterval(watch);
      console.error(`society (pid ${parent}) is gone; draining`);
      setTimeout(() => process.exit(1), 10_000).unref();
      void worker.drainAll();
    }, 2_000);
    watch.unref();
    void worker.done.then(() => clearInterval(watch));
  }
  await worker.done;
  await tracing?.shutdown().catch(() => {});
  await nc.drain().catch(() => {});
  setTimeout(() => process.exit(0), 2_000).unref(); // a stray handle must not keep a drained worker alive
  return 0;
}
