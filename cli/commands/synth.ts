// `troupe synth --domain D --plans N --tasks-per-plan M [--roles-config FILE]`: run the data society
// (meta-planner → scriptwriter → critic → verifier → rollout → verifier → dataset) over NATS, show
// progress, and write the run report (markdown + SVG funnel) into the run directory.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { newRunId, openNatsSession, runDir as makeRunDir } from '../../runtime/nats/session.ts';
import { initTracing } from '../../runtime/tracing/index.ts';
import { runsDir } from '../../runtime/config/paths.ts';
import type { FunnelSummary } from '../../actors/kit/funnel.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';

const HELP = `usage: troupe synth --domain D [--plans N] [--tasks-per-plan M] [--roles-config FILE]
                    [--max-revisions R] [--timeout-min T] [--run-id ID] [--out DIR] [--nats URL ...]
       troupe synth --resume RUN [--roles-config FILE] [--timeout-min T] [--out DIR] [--nats URL ...]
       troupe synth --evolve --domain D [--rounds K] [--validation-size V] [same options]

Runs the synthesis roles over NATS (an embedded nats-server under the run directory unless --nats is
given): N plan pairs, M tasks per plan; each task is proposed, reviewed by the critic, given a
validated checker, played out by the agent and the user simulator, and checked. Passing dialogues go
to the dataset stream (export them with "troupe export --run ID"). The run report (report.md,
funnel.svg) goes to --out (default: <run dir>/synth).

--roles-config FILE (JSON or TOML): {"models": {"default"|"<role>": {"model", "baseURL", "apiKeyEnv",
"temperature", "maxTokens"}}, "actor": "llm"|"oracle", "criticReview": "llm"|"off",
"checkerMode": "spec"|"code", "maxRevisions": 1, "maxSteps": 30, "dialogueTimeoutMs": N,
"replicas": {"<role>": N}}. Without it every role uses the local default model.

--resume RUN continues a run that was stopped or killed, on the same NATS store (its run directory's
embedded server, or --nats): domain and counts come from the run's stored request; the first progress
line counts the items already done; work the killed process held is redelivered once its ack wait
(30 s, "ackWaitMs" in the roles config) has passed, and nothing is duplicated (outputs and dataset
records are keyed by id). --run-id of a run that already exists is refused: use --resume.

--evolve runs K rounds with the evolver instead of one run (the same as "troupe evolve", which has
more options): each round's failures drive a rewrite of one role's instructions, validated on V
items per arm before it is promoted.`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      plans: { type: 'string', default: '2' },
      'tasks-per-plan': { type: 'string', default: '2' },
      'roles-config': { type: 'string' },
      'max-revisions': { type: 'string' },
      'timeout-min': { type: 'string', default: '60' },
      'run-id': { type: 'string' },
      resume: { type: 'string' },
      out: { type: 'string' },
      evolve: { type: 'boolean' },
      rounds: { type: 'string' },
      'validation-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...natsCliOptions,
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.resume !== undefined && (values.evolve || values['run-id'] !== undefined)) {
    console.error('troupe synth: --resume RUN takes the run id; it goes with neither --run-id nor --evolve');
    return 2;
  }
  if (!values.domain && values.resume === undefined) {
    console.error(`troupe synth: --domain is required\n\n${HELP}`);
    return 2;
  }
  if (values.evolve) {
    // A mode of synth: the same society and options, K rounds with the evolver (troupe evolve).
    const { main: evolve } = await import('./evolve.ts');
    const rest = argv.filter((a) => a !== '--evolve');
    // Keep synth's own default of tasks per plan (evolve's is smaller).
    if (!argv.some((a) => a.startsWith('--tasks-per-plan'))) rest.push('--tasks-per-plan', values['tasks-per-plan']!);
    return evolve(rest);
  }
  if (values.rounds !== undefined || values['validation-size'] !== undefined) {
    console.error('troupe synth: --rounds and --validation-size need --evolve');
    return 2;
  }
  const int = (name: string, v: string | undefined, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got "${v}")`);
    return n;
  };
  let plans = int('plans', values.plans, 1);
  let tasksPerPlan = int('tasks-per-plan', values['tasks-per-plan'], 1);
  const timeoutMin = Number(values['timeout-min']);
  if (!(timeoutMin > 0)) throw new Error(`--timeout-min must be a positive number (got "${values['timeout-min']}")`);

  const { getDomain, domainNames } = await import('../../domains/registry.ts');
  const checkDomain = (d: string) => {
    if (!domainNames().includes(d)) throw new Error(`unknown domain "${d}" (known: ${domainNames().join(', ')})`);
    getDomain(d).createEnvironment(); // fail now, not inside a role, when τ² data is missing
  };
  if (values.domain) checkDomain(values.domain);

  const { loadRolesConfig, startSynthSociety, followRun } = await import('../drivers/synth/society.ts');
  const { reportMarkdown, funnelSvg } = await import('../drivers/synth/report.ts');
  const { progressLine, FunnelCounter } = await import('../../actors/kit/funnel.ts');
  const config = loadRolesConfig(values['roles-config']);
  let maxRevisions = values['max-revisions'] !== undefined ? int('max-revisions', values['max-revisions'], 0) : config.maxRevisions;

  const resume = values.resume;
  const runId = resume ?? values['run-id'] ?? newRunId();
  const given = natsSettingsFromFlags(values);
  // Resuming on the embedded server needs the run's own store; on --nats the stream decides.
  if (resume !== undefined && !given && !existsSync(join(runsDir(), resume, 'nats'))) {
    throw new Error(`no run "${resume}" to resume: ${join(runsDir(), resume)} has no NATS store (give --nats URL if the run used an external server)`);
  }
  const dir = makeRunDir(runId);
  process.env.TROUPE_RUN_DIR = dir;
  const tracing = initTracing({ serviceName: 'synth', runDir: dir });
  const session = await openNatsSession(given, { runDir: dir, name: `troupe-synth-${runId}` });
  const logLines: string[] = [];
  let society: Awaited<ReturnType<typeof startSynthSociety>> | undefined;
  try {
    const { loadRunHistory } = await import('../drivers/synth/resume.ts');
    let already: FunnelSummary | undefined;
    if (resume !== undefined || values['run-id'] !== undefined) {
      const { request, envelopes } = await loadRunHistory(session.nc, runId);
      if (resume === undefined && request) throw new Error(`run "${runId}" already exists; continue it with: troupe synth --resume ${runId}`);
      if (resume !== undefined) {
        if (!request) throw new Error(`run "${resume}" has no run request in the stream: nothing to resume`);
        // The stored request is the run: options that contradict it are mistakes, not changes.
        const clash = [
          ['--domain', values.domain, request.domain],
          ['--plans', argv.some((a) => a.startsWith('--plans')) ? plans : undefined, request.plans],
          ['--tasks-per-plan', argv.some((a) => a.startsWith('--tasks-per-plan')) ? tasksPerPlan : undefined, request.tasksPerPlan],
        ].filter(([, mine, theirs]) => mine !== undefined && mine !== theirs);
        if (clash.length) throw new Error(`run "${resume}" was started with ${clash.map(([f, , t]) => `${f} ${t}`).join(', ')}; leave those out to resume it`);
        values.domain = request.domain;
        plans = request.plans;
        tasksPerPlan = request.tasksPerPlan;
        maxRevisions = request.maxRevisions;
        checkDomain(request.domain);
        // Counted before any role starts, so this is what the killed run had finished.
        const prior = new FunnelCounter(runId, plans * tasksPerPlan);
        for (const e of envelopes) prior.add(e);
        already = prior.summary();
      }
    }
    const domain = values.domain!;
    society = await startSynthSociety({ nc: session.nc, config, log: (l) => (logLines.push(l), process.stderr.write(`${l}\n`)) });
    console.error(`troupe synth: ${resume !== undefined ? 'resuming ' : ''}run ${runId}, domain ${domain}, ${plans} plan(s) × ${tasksPerPlan} task(s); run dir ${dir}`);
    if (already) console.error(progressLine(already, 0));
    const result = await followRun({
      nc: session.nc,
      runId,
      domain,
      plans,
      tasksPerPlan,
      maxRevisions,
      timeoutMs: timeoutMin * 60_000,
      ...(resume !== undefined ? { history: async () => (await loadRunHistory(session.nc, runId)).envelopes } : {}),
      onProgress: (s, ms) => console.error(progressLine(s, ms)),
      progressEveryMs: 5_000,
    });
    console.error(progressLine(result.summary, result.endedAt - result.startedAt));
    const out = values.out ?? join(dir, 'synth');
    mkdirSync(out, { recursive: true });
    const info = {
      runId,
      domain,
      plans,
      tasksPerPlan,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      models: society.models,
      instructions: society.instructions,
      complete: result.complete,
    };
    writeFileSync(join(out, 'funnel.svg'), funnelSvg(result.summary, `troupe synth ${domain} — ${runId}`));
    writeFileSync(join(out, 'report.md'), reportMarkdown(info, result.summary, 'funnel.svg'));
    const { dropReasons, failures, ...counts } = result.summary;
    writeFileSync(join(out, 'failures.jsonl'), failures.map((f) => JSON.stringify(f.report)).join('\n') + (failures.length ? '\n' : ''));
    writeFileSync(join(out, 'summary.json'), JSON.stringify({ ...info, summary: counts }, null, 2));
    // Every dropped item with what it got to (task, verdicts, validation): the funnel's evidence.
    writeFileSync(join(out, 'dropped.jsonl'), dropReasons.map((d) => JSON.stringify(d)).join('\n') + (dropReasons.length ? '\n' : ''));
    console.log(`report: ${join(out, 'report.md')}`);
    console.log(`dataset: ${result.summary.dialoguePassed} record(s); export with: troupe export --run ${runId} --format sft|tau2-tasks|rl --out DIR`);
    return result.complete ? 0 : 1;
  } finally {
    await society?.stop().catch(() => {});
    await session.close();
    await stopLocalModelServer().catch(() => {});
    await tracing.shutdown().catch(() => {});
    // Idle keep-alive sockets and client timers can hold the process open for a minute after the
    // work is done and everything is closed; do not make the user wait for them.
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
