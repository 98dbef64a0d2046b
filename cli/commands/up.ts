// `troupe up [--config FILE]`: start a society (embedded nats-server unless --nats is given) and run
// until SIGINT/SIGTERM or `troupe down`.
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags, redactUrl } from '../../runtime/nats/connect.ts';
import { startSocietyDashboard, type Dashboard } from '../../runtime/dashboard/index.ts';
import { defaultSocietyConfig, loadSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { ROLES } from '../roles.ts';
import { join } from 'node:path';
import { startLocalCluster } from '../../runtime/nats/cluster.ts';
import { newRunId, runDir } from '../../runtime/nats/session.ts';

const HELP = `usage: troupe up [--config FILE] [--run-id ID] [--nats URL ... | --cluster N] [--no-dashboard] [--dashboard-port N]

Starts every role in the config (JSON: {"roles": {"<role>": {"replicas": 2, "impl": "path.ts",
"model": "...", "instructions": "file.md"}}}) as worker processes. Without --config: every role of
the role table (${Object.keys(ROLES).join(', ')}), one replica each.
Without --nats/TROUPE_NATS_URL an embedded nats-server runs under the run directory. Roles on the
model "local" share ONE embedded model server, started here (TROUPE_<ROLE>_MODEL / _BASE_URL point a
role at another OpenAI-compatible endpoint). "troupe synth|eval|evolve|train" then submit their work
to this society. Stop with Ctrl-C or "troupe down".
The web dashboard (docs/dashboard.md) listens on 127.0.0.1 (--dashboard-port, default any free port);
sign in with the one-time link printed here or the token in control.json.
--cluster N starts an N-node NATS cluster on loopback instead (deploy/nats/node.conf, stores under
the run directory; streams get 3 replicas when N ≥ 3, so a node can die without losing work).`;

/**
 * Start the one local model server of the society when a role of the CLI's table may use it, and
 * return the environment that points every worker at it (not one model per worker process).
 */
export async function sharedModelServerEnv(roles: Iterable<string>, log: (l: string) => void): Promise<Record<string, string>> {
  if (process.env.TROUPE_LOCAL_MODEL_URL) return {};
  if (![...roles].some((r) => Object.hasOwn(ROLES, r))) return {};
  const { ensureLocalModelServer, localModelEnv } = await import('../../llm/server/embedded.ts');
  const ep = await ensureLocalModelServer();
  log(`model server ${ep.baseURL} (${ep.model}), shared by every role on model "local"`);
  return localModelEnv(ep);
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions, config: { type: 'string' }, 'run-id': { type: 'string' }, cluster: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'no-dashboard': { type: 'boolean' }, 'dashboard-port': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dashboardPort = values['dashboard-port'] === undefined ? 0 : Number(values['dashboard-port']);
  if (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65535) throw new Error(`--dashboard-port: a port number 0-65535 (got "${values['dashboard-port']}")`);
  const config = values.config ? loadSocietyConfig(values.config) : defaultSocietyConfig(ROLES);
  const cluster = values.cluster !== undefined ? await startCluster(values.cluster, values['run-id'], natsSettingsFromFlags(values) !== undefined) : undefined;
  const workerEnv = await sharedModelServerEnv(Object.keys(config.roles), (l) => console.log(`  ${l}`));
  const society = new Society({ catalog: ROLES, config, nats: cluster?.settings ?? natsSettingsFromFlags(values), runId: cluster?.runId ?? values['run-id'], workerEnv });
  process.env.TROUPE_RUN_DIR = society.runDir;
  const tracing = initTracing({ serviceName: 'society', runDir: society.runDir });
  let stopping: Promise<void> | undefined;
  let dashboard: Dashboard | undefined;
  const stop = () => (stopping ??= (async () => {
    await dashboard?.close();
    await society.stop();
  })());
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  try {
    await society.start();
    if (!values['no-dashboard']) dashboard = await startSocietyDashboard(society, { port: dashboardPort });
  } catch (err) {
    await stop();
    await cluster?.stop();
    throw err;
  }
  const roles = Object.entries(config.roles).map(([r, c]) => `${r}×${c.replicas}`).join(', ');
  console.log(`society ${society.runId} up: ${roles}`);
  console.log(`  run dir  ${society.runDir}`);
  console.log(`  nats     ${redactUrl(society.session.settings.url)}${society.session.embedded ? ' (embedded)' : cluster ? ` (${cluster.nodes.length}-node cluster, logs in ${cluster.dir})` : ''}`);
  if (society.control) console.log(`  control  ${society.control.address} (token in ${society.runDir}/control.json)`);
  if (dashboard) console.log(`  dashboard ${dashboard.url} (one-time sign-in link: ${dashboard.loginUrl()})`);
  await new Promise<void>((r) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        r();
      }
    }, 200);
  });
  await stopping;
  await cluster?.stop();
  const { stopLocalModelServer } = await import('../../llm/server/embedded.ts');
  await stopLocalModelServer().catch(() => {});
  await tracing.shutdown().catch(() => {});
  console.log(`society ${society.runId} stopped`);
  return 0;
}

/** `--cluster N`: N local nats-server nodes from deploy/nats/node.conf under the run directory. */
async function startCluster(raw: string, runIdGiven: string | undefined, natsGiven: boolean) {
  if (natsGiven) throw new Error('--cluster starts its own NATS cluster: it goes without --nats / TROUPE_NATS_URL');
  const size = Number(raw);
  if (!Number.isInteger(size) || size < 1 || size > 9) throw new Error(`--cluster must be an integer from 1 to 9, got "${raw}"`);
  const runId = runIdGiven ?? newRunId();
  const dir = join(runDir(runId), 'nats-cluster');
  // Replicas as the cluster allows (3 at most): the workers inherit this from our environment.
  process.env.TROUPE_NATS_REPLICAS ??= String(Math.min(3, size));
  const c = await startLocalCluster(dir, { size });
  return { ...c, runId, dir };
}
