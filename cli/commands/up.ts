// `troupe up [--config FILE]`: start a society (embedded nats-server unless --nats is given) and run
// until SIGINT/SIGTERM or `troupe down`.
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags, redactUrl } from '../../runtime/nats/connect.ts';
import { defaultSocietyConfig, loadSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { ROLES } from '../roles.ts';

const HELP = `usage: troupe up [--config FILE] [--run-id ID] [--nats URL ...]

Starts every role in the config (JSON: {"roles": {"<role>": {"replicas": 2, "impl": "path.ts",
"model": "...", "instructions": "file.md"}}}) as worker processes. Without --config: every role of
the role table (${Object.keys(ROLES).join(', ')}), one replica each.
Without --nats/TROUPE_NATS_URL an embedded nats-server runs under the run directory. Roles on the
model "local" share ONE embedded model server, started here (TROUPE_<ROLE>_MODEL / _BASE_URL point a
role at another OpenAI-compatible endpoint). "troupe synth|eval|evolve|train" then submit their work
to this society. Stop with Ctrl-C or "troupe down".`;

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
    options: { ...natsCliOptions, config: { type: 'string' }, 'run-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = values.config ? loadSocietyConfig(values.config) : defaultSocietyConfig(ROLES);
  const workerEnv = await sharedModelServerEnv(Object.keys(config.roles), (l) => console.log(`  ${l}`));
  const society = new Society({ catalog: ROLES, config, nats: natsSettingsFromFlags(values), runId: values['run-id'], workerEnv });
  process.env.TROUPE_RUN_DIR = society.runDir;
  const tracing = initTracing({ serviceName: 'society', runDir: society.runDir });
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= society.stop());
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  try {
    await society.start();
  } catch (err) {
    await stop();
    throw err;
  }
  const roles = Object.entries(config.roles).map(([r, c]) => `${r}×${c.replicas}`).join(', ');
  console.log(`society ${society.runId} up: ${roles}`);
  console.log(`  run dir  ${society.runDir}`);
  console.log(`  nats     ${redactUrl(society.session.settings.url)}${society.session.embedded ? ' (embedded)' : ''}`);
  if (society.control) console.log(`  control  ${society.control.address} (token in ${society.runDir}/control.json)`);
  await new Promise<void>((r) => {
    const check = setInterval(() => {
      if (stopping) {
        clearInterval(check);
        r();
      }
    }, 200);
  });
  await stopping;
  const { stopLocalModelServer } = await import('../../llm/server/embedded.ts');
  await stopLocalModelServer().catch(() => {});
  await tracing.shutdown().catch(() => {});
  console.log(`society ${society.runId} stopped`);
  return 0;
}
