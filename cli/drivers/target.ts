// Where a work command (`troupe synth`, `troupe cancel`, …) sends its work: the society that is
// running — given by --nats / TROUPE_NATS_URL, or found through its run directory's state file
// (~/.troupe/runs/<id>/society.json) — and only when none is running, a society of its own, started
// here the way `troupe up` starts one (worker processes, one shared model server), so the roles
// doing the work are always ones `troupe ps` lists, `troupe watch` shows and `troupe swap` replaces.
// Credentials come from the environment (TROUPE_NATS_USER / _PASS / _TOKEN …), from
// TROUPE_NATS_CREDS (a JSON file {"user","pass"} or {"token"}), or from the society's own
// credentials file in its run directory; never required on the command line.
import { existsSync, readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { connectNats, natsSettingsFromFlags, redactUrl, type NatsSettings } from '../../runtime/nats/connect.ts';
import { ensureStreams } from '../../runtime/nats/streams.ts';
import { listInstances, openRegistry } from '../../runtime/registry/registry.ts';
import { defaultSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { findSociety, readNatsCredentials, type SocietyState } from '../../runtime/society/state.ts';
import type { RoleCatalog } from '../../runtime/host/catalog.ts';

export interface SocietyTarget {
  nc: NatsConnection;
  settings: NatsSettings;
  /** `joined`: a society that was already running; `own`: started here for this command. */
  how: 'joined' | 'own';
  /** The run directory of the society (where its workers write spans and logs). */
  runDir?: string;
  state?: SocietyState;
  society?: Society;
  describe: string;
  close(): Promise<void>;
}

const CredsFileSchema = z.object({ user: z.string().optional(), pass: z.string().optional(), token: z.string().optional() });

/** TROUPE_NATS_CREDS: a credentials file, for those who keep secrets out of the environment too. */
function credsFromFile(env: NodeJS.ProcessEnv): Partial<NatsSettings> {
  const f = env.TROUPE_NATS_CREDS;
  if (!f) return {};
  if (!existsSync(f)) throw new Error(`TROUPE_NATS_CREDS names ${f}, which does not exist`);
  const r = CredsFileSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
  if (!r.success) throw new Error(`TROUPE_NATS_CREDS ${f}: expected {"user","pass"} or {"token"}`);
  return r.data;
}

/** Flags and environment, with credentials from TROUPE_NATS_CREDS where the environment has none. */
export function givenNatsSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NatsSettings | undefined {
  const s = natsSettingsFromFlags(values, env);
  if (!s) return undefined;
  const file = credsFromFile(env);
  return { ...s, user: s.user ?? file.user, pass: s.pass ?? file.pass, token: s.token ?? file.token };
}

/** The connection settings of a society found by its state file. */
function settingsOfState(state: SocietyState, env: NodeJS.ProcessEnv): NatsSettings {
  const own = readNatsCredentials(state.runDir);
  if (own) return own; // its embedded server: the credential it wrote (mode 0600) beside its state
  const file = credsFromFile(env);
  return { url: state.natsUrl, user: env.TROUPE_NATS_USER ?? file.user, pass: env.TROUPE_NATS_PASS ?? file.pass, token: env.TROUPE_NATS_TOKEN ?? file.token };
}

/** Roles among `need` with no ready instance in the society's registry. */
export async function missingRoles(nc: NatsConnection, need: readonly string[]): Promise<string[]> {
  const live = new Set((await listInstances(await openRegistry(nc))).filter((r) => r.state === 'ready').map((r) => r.role));
  return need.filter((r) => !live.has(r));
}

export interface TargetOptions {
  /** Parsed flags (--nats and friends). */
  values: Record<string, unknown>;
  /** Roles the work needs. */
  roles: readonly string[];
  /** The role table (the CLI's, handed in: drivers do not import it). */
  catalog: RoleCatalog;
  /** Run id and connection name of this command. */
  runId: string;
  name: string;
  /** How to start a society of our own: the worker environment (model server, role settings) and replicas. */
  own?: () => Promise<{ workerEnv: Record<string, string>; replicas?: Record<string, number> }>;
  log: (line: string) => void;
}

/** The society to submit to: the running one, else (only then) one of our own. */
export async function societyTarget(o: TargetOptions): Promise<SocietyTarget> {
  const env = process.env;
  const given = givenNatsSettings(o.values, env);
  let state: SocietyState | undefined;
  if (!given) {
    try {
      state = findSociety(undefined, { submit: true });
    } catch {
      state = undefined; // none running: we start our own below
    }
  }
  const settings = given ?? (state ? settingsOfState(state, env) : undefined);
  if (settings) {
    const nc = await connectNats({ ...settings, name: o.name });
    await ensureStreams(nc);
    const missing = await missingRoles(nc, o.roles);
    if (!missing.length) {
      const where = state ? `society ${state.runId} (${redactUrl(settings.url)})` : `the society on ${redactUrl(settings.url)}`;
      return { nc, settings, how: 'joined', runDir: state?.runDir, state, describe: where, close: () => nc.close().catch(() => {}) };
    }
    if (state || missing.length < o.roles.length) {
      await nc.close().catch(() => {});
      // A society is running but lacks roles this work needs: starting a second set beside it would
      // split its work between two configs. Say what is missing instead.
      throw new Error(
        `${state ? `society ${state.runId}` : `the society on ${redactUrl(settings.url)}`} has no ready instance of ${missing.join(', ')}: ` +
          `start them (troupe worker --roles ${missing.join(',')}) or run "troupe up" with the default config`,
      );
    }
    await nc.close().catch(() => {});
  }
  // Nobody is serving these roles: start them here, as `troupe up` would, and stop them at the end.
  const own = o.own ? await o.own() : { workerEnv: {} };
  const config = defaultSocietyConfig(o.catalog, o.roles);
  for (const [r, n] of Object.entries(own.replicas ?? {})) if (config.roles[r]) config.roles[r].replicas = n;
  const society = new Society({ catalog: o.catalog, config, nats: given, runId: o.runId, workerEnv: own.workerEnv, ephemeral: true, log: o.log });
  try {
    await society.start();
  } catch (err) {
    await society.stop().catch(() => {});
    throw err;
  }
  return {
    nc: society.nc,
    settings: society.session.settings,
    how: 'own',
    runDir: society.runDir,
    society,
    describe: `its own society (${Object.entries(config.roles).map(([r, c]) => `${r}×${c.replicas}`).join(', ')}; run dir ${society.runDir})`,
    close: () => society.stop(),
  };
}

/** The running society's NATS, for commands that only talk to it (`troupe cancel`); never starts one. */
export async function connectToSociety(values: Record<string, unknown>, name: string): Promise<{ nc: NatsConnection; describe: string }> {
  const given = givenNatsSettings(values);
  const state = given ? undefined : findSociety(undefined, { submit: false });
  const settings = given ?? settingsOfState(state!, process.env);
  const nc = await connectNats({ ...settings, name });
  return { nc, describe: state ? `society ${state.runId}` : redactUrl(settings.url) };
}
