// `troupe up [--config FILE]`: start a society (embedded nats-server unless --nats is given) and run
// until SIGINT/SIGTERM or `troupe down`.
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags, redactUrl } from '../../runtime/nats/connect.ts';
import { startSocietyDashboard, type Dashboard } from '../../runtime/dashboard/index.ts';
import { DEFAULT_CONFIG, loadSocietyConfig, parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { ROLES } from '../roles.ts';

const HELP = `usage: troupe up [--config FILE] [--run-id ID] [--nats URL ...] [--no-dashboard] [--dashboard-port N]

Starts every role in the config (JSON: {"roles": {"<role>": {"replicas": 2, "impl": "path.ts",
"model": "...", "instructions": "file.md"}}}) as worker processes. Without --nats/TROUPE_NATS_URL an
embedded nats-server runs under the run directory. Without --config, the runtime's test pipeline
(stage-a, stage-b, stage-c) runs. Stop with Ctrl-C or "troupe down".
The web dashboard (docs/dashboard.md) listens on 127.0.0.1 (--dashboard-port, default any free port);
sign in with the one-time link printed here or the token in control.json.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions, config: { type: 'string' }, 'run-id': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      'no-dashboard': { type: 'boolean' }, 'dashboard-port': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dashboardPort = values['dashboard-port'] === undefined ? 0 : Number(values['dashboard-port']);
  if (!Number.isInteger(dashboardPort) || dashboardPort < 0 || dashboardPort > 65535) throw new Error(`--dashboard-port: a port number 0-65535 (got "${values['dashboard-port']}")`);
  const config = values.config ? loadSocietyConfig(values.config) : parseSocietyConfig(DEFAULT_CONFIG, 'default config');
  const society = new Society({ catalog: ROLES, config, nats: natsSettingsFromFlags(values), runId: values['run-id'] });
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
    throw err;
  }
  const roles = Object.entries(config.roles).map(([r, c]) => `${r}×${c.replicas}`).join(', ');
  console.log(`society ${society.runId} up: ${roles}`);
  console.log(`  run dir  ${society.runDir}`);
  console.log(`  nats     ${redactUrl(society.session.settings.url)}${society.session.embedded ? ' (embedded)' : ''}`);
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
  await tracing.shutdown().catch(() => {});
  console.log(`society ${society.runId} stopped`);
  return 0;
}
