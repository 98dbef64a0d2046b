// `troupe synth --domain D --plans N --tasks-per-plan M [--roles-config FILE]`: run the data society
// (meta-planner → scriptwriter → critic → verifier → rollout → verifier → dataset) over NATS, show
// progress, and write the run report (markdown + SVG funnel) into the run directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { natsCliOptions } from '../../runtime/nats/connect.ts';
import { newRunId, runDir as makeRunDir } from '../../runtime/nats/session.ts';
import type { RolesConfig } from '../drivers/synth/roles-config.ts';
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

/** The roles a synthesis run needs (all in the role table; `troupe up` hosts them by default). */
export const SYNTH_ROLES = ['meta-planner', 'scriptwriter', 'critic', 'verifier', 'rollout', 'dataset'];

/** A roles config as the environment of the workers of synth's own society (each role reads its part). */
export function rolesConfigEnv(config: RolesConfig, file: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (file) env.TROUPE_ROLES_CONFIG = resolve(file);
  for (const [role, m] of Object.entries(config.models)) {
    const prefix = role === 'default' ? 'TROUPE_' : `TROUPE_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
    if (m.model) env[`${prefix}MODEL`] = m.model;
    if (m.baseURL) env[`${prefix}BASE_URL`] = m.baseURL;
    if (m.apiKeyEnv) env[`${prefix}API_KEY_ENV`] = m.apiKeyEnv;
  }
  if (config.criticReview !== 'llm') env.TROUPE_CRITIC_REVIEW = config.criticReview;
  if (config.checkerMode !== 'spec') env.TROUPE_VERIFIER_CHECKER_MODE = config.checkerMode;
  if (config.actor) env.TROUPE_ROLLOUT_AGENT = config.actor;
  return env;
}

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

  const { loadRolesConfig } = await import('../drivers/synth/roles-config.ts');
  const { followRun } = await import('../../actors/kit/follow-run.ts');
  const { societyTarget } = await import('../drivers/target.ts');
  const { reportMarkdown, funnelSvg } = await import('../drivers/synth/report.ts');
  const { progressLine, FunnelCounter } = await import('../../actors/kit/funnel.ts');
  const config = loadRolesConfig(values['roles-config']);
  let maxRevisions = values['max-revisions'] !== undefined ? int('max-revisions', values['max-revisions'], 0) : config.maxRevisions;

  const resume = values.resume;
  const runId = resume ?? values['run-id'] ?? newRunId();
  const say = (l: string) => process.stderr.write(`${l}\n`);
  say(`troupe synth: run ${runId}: looking for a running society (roles ${SYNTH_ROLES.join(', ')})`);
  const target = await societyTarget({
    values,
    roles: SYNTH_ROLES,
    catalog: (await import('../roles.ts')).ROLES,
    runId,
    name: `troupe-synth-${runId}`,
    log: say,
    own: async () => {
      say('troupe synth: no society is running: starting one for this run (worker processes and the shared model server take a few seconds)');
      const { sharedModelServerEnv } = await import('./up.ts');
      return { workerEnv: { ...(await sharedModelServerEnv(SYNTH_ROLES, say)), ...rolesConfigEnv(config, values['roles-config']) }, replicas: config.replicas };
    },
  });
  if (target.how === 'joined' && values['roles-config']) {
    await target.close();
    throw new Error(`--roles-config configures the roles synth starts itself, but ${target.describe} is running with its own: stop it ("troupe down") or leave out --roles-config`);
  }
  // One run, one directory: the spans of this command go where the society's workers write theirs.
  const dir = target.how === 'own' ? makeRunDir(runId) : target.runDir ?? makeRunDir(runId);
  process.env.TROUPE_RUN_DIR = dir;
  const tracing = initTracing({ serviceName: 'synth', runDir: dir });
  const abort = new AbortController();
  const onSignal = () => {
    say(`troupe synth: interrupted: cancelling run ${runId} (the society drops its remaining messages)`);
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const { loadRunHistory } = await import('../drivers/synth/resume.ts');
    let already: FunnelSummary | undefined;
    if (resume !== undefined || values['run-id'] !== undefined) {
      const { request, envelopes } = await loadRunHistory(target.nc, runId);
      if (resume === undefined && request) throw new Error(`run "${runId}" already exists; continue it with: troupe synth --resume ${runId}`);
      if (resume !== undefined) {
        if (!request) throw new Error(`run "${resume}" has no run request in the stream: nothing to resume (a run on another server needs --nats URL)`);
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
        // Counted before the run is followed, so this is what the killed run had finished.
        const prior = new FunnelCounter(runId, plans * tasksPerPlan);
        for (const e of envelopes) prior.add(e);
        already = prior.summary();
      }
    }
    const domain = values.domain!;
    say(`troupe synth: ${resume !== undefined ? 'resuming ' : ''}run ${runId}, domain ${domain}, ${plans} plan(s) × ${tasksPerPlan} task(s) → ${target.describe}; run dir ${dir}`);
    if (already) say(progressLine(already, 0));
    const result = await followRun({
      nc: target.nc,
      runId,
      domain,
      plans,
      tasksPerPlan,
      maxRevisions,
      timeoutMs: timeoutMin * 60_000,
      ...(resume !== undefined ? { history: async () => (await loadRunHistory(target.nc, runId)).envelopes } : {}),
      onProgress: (s, ms, extra) => say(progressLine(s, ms, extra)),
      progressEveryMs: 5_000,
      abort: abort.signal,
    });
    say(progressLine(result.summary, result.endedAt - result.startedAt));
    // Who did the work: each role's instances as the registry lists them (model, instructions revision).
    const { listInstances, openRegistry } = await import('../../runtime/registry/registry.ts');
    const live = (await listInstances(await openRegistry(target.nc))).filter((r) => SYNTH_ROLES.includes(r.role));
    const models = Object.fromEntries(live.map((r) => [r.role, r.model ?? 'role default (local unless TROUPE_<ROLE>_MODEL)']));
    const instructions = Object.fromEntries(live.filter((r) => r.instructionsRevision !== undefined).map((r) => [r.role, r.instructionsRevision!]));
    const out = values.out ?? (target.how === 'own' ? join(dir, 'synth') : join(dir, 'synth', runId));
    mkdirSync(out, { recursive: true });
    const info = {
      runId,
      domain,
      plans,
      tasksPerPlan,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      society: target.describe,
      models,
      instructions,
      complete: result.complete,
      cancelled: result.cancelled,
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
    if (result.cancelled) {
      console.error(`troupe synth: run ${runId} was cancelled`);
      return 130;
    }
    // A run that produced nothing is an error: say where it stopped.
    if (result.summary.dialoguePassed === 0) {
      console.error(`troupe synth: run ${runId} produced no verified record (dropped: ${Object.entries(result.summary.dropped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; see ${join(out, 'dropped.jsonl')})`);
      return 1;
    }
    return result.complete ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await target.close().catch(() => {});
    await stopLocalModelServer().catch(() => {});
    await tracing.shutdown().catch(() => {});
    // Idle keep-alive sockets and client timers can hold the process open for a minute after the
    // work is done and everything is closed; do not make the user wait for them.
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
