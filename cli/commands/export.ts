// `troupe export --format sft|tau2-tasks|rl --out DIR [--run ID | --nats URL] [--domain D]`: write the
// dataset stream out for trainers and evaluators.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runsDir } from '../../runtime/config/paths.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { openNatsSession } from '../../runtime/nats/session.ts';

const HELP = `usage: troupe export --format sft|tau2-tasks|rl --out DIR [--run ID] [--domain D] [--nats URL ...]

Reads the dataset stream (TROUPE_DATASET). With --run ID and no --nats, it starts an embedded
nats-server on that run's store (<runs dir>/ID/nats); with --nats it reads that server (and --run
keeps only that run's records). Every record's checker is re-run on its own dialogue first; records
that do not pass are left out and listed.
  sft         DIR/sft.jsonl        OpenAI chat format: {"messages": [...], "tools": [...], "metadata": {...}}
  tau2-tasks  DIR/tasks.json       τ² task schema (load with τ²'s loader or "troupe tau2 replay --tasks"),
              DIR/checkers/<task id>.js   the executable checker of each task
  rl          DIR/rl_tasks.jsonl   scenario, criteria, checker source, initial-state reference`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      format: { type: 'string' },
      out: { type: 'string' },
      run: { type: 'string' },
      domain: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...natsCliOptions,
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const format = values.format;
  if (format !== 'sft' && format !== 'tau2-tasks' && format !== 'rl') {
    console.error(`troupe export: --format must be sft, tau2-tasks or rl (got "${format ?? ''}")\n\n${HELP}`);
    return 2;
  }
  if (!values.out) {
    console.error(`troupe export: --out DIR is required\n\n${HELP}`);
    return 2;
  }
  let given = natsSettingsFromFlags(values);
  if (!given && values.run && !existsSync(join(runsDir(), values.run, 'nats'))) {
    // A run submitted to a running society has no store of its own: read that society's dataset.
    const { findSociety, readNatsCredentials } = await import('../../runtime/society/state.ts');
    let state;
    try {
      state = findSociety();
    } catch {
      state = undefined;
    }
    const creds = state ? readNatsCredentials(state.runDir) : undefined;
    if (creds) {
      given = creds;
      console.error(`troupe export: run ${values.run} has no store of its own; reading the dataset of society ${state!.runId}`);
    }
  }
  if (!given && !values.run) {
    console.error('troupe export: give --run ID (a local synth run) or --nats URL');
    return 2;
  }
  let runDir = join('/nonexistent');
  if (!given) {
    runDir = join(runsDir(), values.run!);
    if (!existsSync(join(runDir, 'nats'))) throw new Error(`run ${values.run} has no NATS store at ${join(runDir, 'nats')}, and no society is running here (for a run on a society elsewhere, give --nats URL)`);
  }
  const { readDataset } = await import('../../actors/dataset/role.ts');
  const { exportRecords } = await import('../drivers/synth/export.ts');
  const { getDomain } = await import('../../domains/registry.ts');
  const session = await openNatsSession(given, { runDir, name: 'troupe-export' });
  try {
    const records = await readDataset(session.nc, { domain: values.domain, runId: values.run });
    const s = await exportRecords(records, format, values.out, getDomain);
    for (const l of s.leftOut) console.error(`left out ${l.recordId}: its checker does not pass on its own dialogue (${l.reasons.join('; ')})`);
    console.log(`exported ${s.written} of ${records.length} record(s) as ${format} -> ${s.files[0]}`);
    return s.leftOut.length ? 1 : 0;
  } finally {
    await session.close();
    // Idle keep-alive sockets and client timers can hold the process open for a minute after the
    // work is done and everything is closed; do not make the user wait for them.
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
