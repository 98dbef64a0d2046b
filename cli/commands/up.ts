// `troupe up [--config FILE]`: start a society (embedded nats-server unless --nats is given) and run
// until SIGINT/SIGTERM or `troupe down`.
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags, redactUrl } from '../../runtime/nats/connect.ts';
import { DEFAULT_CONFIG, loadSocietyConfig, parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { ROLES } from '../roles.ts';

const HELP = `usage: troupe up [--config FILE] [--run-id ID] [--nats URL ...]

Starts every role in the config (JSON: {"roles": {"<role>": {"replicas": 2, "impl": "path.ts",
"model": "...", "instructions": "file.md"}}}) as worker processes. Without --nats/TROUPE_NATS_URL an
embedded nats-server runs under the run directory. Without --config, the runtime's test pipeline
(stage-a, stage-b, stage-c) runs. Stop with Ctrl-C or "troupe down".`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { ...natsCliOptions, config: { type: 'string' }, 'run-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = values.config ? loadSocietyConfig(values.config) : parseSocietyConfig(DEFAULT_CONFIG, 'default config');
  const society = new Society({ catalog: ROLES, config, nats: natsSettingsFromFlags(values), runId: values['run-id'] });
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
  await tracing.shutdown().catch(() => {});
  console.log(`society ${society.runId} stopped`);
  return 0;
}
