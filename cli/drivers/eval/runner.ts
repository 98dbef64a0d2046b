// `troupe eval` through the society: every (task, trial) becomes a `dialogue.requested` work item on
// JetStream; scene replicas (the hosted `scene` role, here and in any worker) play it against the
// agent, user-simulator and environment services over request/reply; this process reads
// `dialogue.completed`, grades it, and rewrites the results file after every simulation.
//
// Retries: a dialogue ending in `infrastructure_error` is replayed by the scene role itself (up to
// INFRA_ATTEMPTS deliveries). A dialogue whose grading fails (strict replay mismatch, evaluator
// error), whose request is dead-lettered, or that ended on a model reply τ² would have raised on
// (tool arguments that are not JSON, an empty message) is re-requested here under a new id, up to
// `maxAttempts` in all; then it is recorded as `infrastructure_error` (excluded from pass^k).
// Exactly-once per (task, trial): the results map is keyed by it and the first graded result wins.
// Those decisions are the eval machine's named states and guards (machine.ts); this file prepares the
// run (tasks, resume, plan) and supplies the machine's effects (bus, services, scene host, grading,
// the results file).
import { existsSync, renameSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { getDomain } from '../../../domains/registry.ts';
import { EvaluationCriteriaError, evaluateSimulation } from '../../../domains/evaluator/evaluate.ts';
import type { NlJudge } from '../../../domains/evaluator/nl-judge.ts';
import { rewardBasisOf } from '../../../domains/evaluator/types.ts';
import { buildResults, runInfo } from '../../../domains/evaluator/results-builder.ts';
import { readResultsFile, writeResultsFile } from '../../../domains/evaluator/results-io.ts';
import { decodeEnvelope } from '../../../protocols/envelope.ts';
import { DialogueCompleted, DialogueRequested, type DialogueRequest, type DialogueResult } from '../../../protocols/dialogue.ts';
import { DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM } from '../../../protocols/subjects.ts';
import type { Results, SimulationRun } from '../../../protocols/tau2/results.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import { RoleHost } from '../../../runtime/host/host.ts';
import { defineRole } from '../../../runtime/host/role.ts';
import { Bus } from '../../../runtime/nats/bus.ts';
import type { NatsSettings } from '../../../runtime/nats/connect.ts';
import { subjectReader } from '../../../runtime/nats/read.ts';
import { RunHandle } from '../../../runtime/registry/runs.ts';
import { newRunId, openNatsSession, runDir } from '../../../runtime/nats/session.ts';
import { stopLocalModelServer } from '../../../llm/server/embedded.ts';
import { parseRoleModelConfig } from '../../../llm/client/index.ts';
import sceneRole, { sceneMachineFor } from '../../../actors/scene/role.ts';
import { historyFromTask } from '../../../actors/kit/task-env.ts';
import { toSimulationRun } from '../../../actors/scene/simulation-run.ts';
import { checkResumable, finishedSimulations, planSimulations, selectTasks, simKey, type TaskSelection } from './plan.ts';
import { passKTable, perTaskOutcomes, runningPass1 } from './report.ts';
import { startEvalServices, type AgentChoice, type EvalServiceOptions, type EvalServices, type UserChoice } from './services.ts';
import { evalMachine, type EvalEffects } from './machine.ts';
import { createActor, toPromise } from 'xstate';

export interface EvalOptions extends TaskSelection {
  domain: string;
  agent: AgentChoice;
  user: UserChoice;
  /** Model names recorded in the results `info` block. */
  agentLabel: string;
  userLabel: string;
  trials: number;
  concurrency: number;
  seed: number;
  maxSteps: number;
  maxErrors: number;
  out: string;
  /** Connect here; otherwise an embedded nats-server is started for the run. */
  nats?: NatsSettings;
  /** Start the environment/agent/user services in this process (default true). False: they run elsewhere. */
  localServices?: boolean;
  /** Start a scene host in this process (default true). False: scene workers run elsewhere. */
  localScenes?: boolean;
  /** Wait for one agent/user/env call before it counts as an infrastructure error. */
  rpcTimeoutMs?: number;
  /** Attempts per simulation for failures seen here (grading, dead letters), first included. */
  maxAttempts?: number;
  /** Give up waiting for results after this long (default: none). */
  deadlineMs?: number;
  log?: (line: string) => void;
  /** Only the first N selected tasks. */
  limit?: number;
  /** Stop early (Ctrl-C): the results so far are returned (and already written), the run cancelled. */
  abort?: AbortSignal;
  /** Progress line at least this often (default 10 s). */
  progressEveryMs?: number;
  /** Called with the run directory (spans, log, embedded NATS) before anything runs. */
  onRunDir?: (dir: string) => void;
  /** Called once the bus and services are up (tests use it to start/kill external replicas). */
  onReady?: (nats: NatsSettings) => void | Promise<void>;
  /** LLM judge for tasks whose reward basis includes NL_ASSERTION (none: such tasks cannot be graded). */
  judge?: NlJudge;
  /** Wrap the in-process services' chat models (benchmarks). */
  wrapModel?: EvalServiceOptions['wrapModel'];
  /** Called after each simulation is written. */
  onSimulation?: (sim: SimulationRun, done: number, total: number) => void | Promise<void>;
}

export interface EvalOutcome {
  results: Results;
  /** Simulations run by this invocation (resumed ones excluded). */
  ran: number;
  /** Re-requests made here (grading failures, dead letters). */
  reRequested: number;
}

/** Atomic: a reader (or a crash) sees the old file or the new one, never half of one. */
function writeAtomically(path: string, results: Results): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeResultsFile(tmp, results);
  renameSync(tmp, path);
}

export { RERUN_ROLE_ERROR } from './machine.ts';

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export async function runEval(o: EvalOptions): Promise<EvalOutcome> {
  const out = o.log ?? ((l: string) => console.log(l));
  // The last failure seen, shown with progress (retries are logged by the machine).
  let lastError: string | undefined;
  const log = (l: string) => {
    const m = /^eval: (.*) failed \((.*)\); retrying$/.exec(l);
    if (m) lastError = `${m[1]}: ${m[2]}`;
    out(l);
  };
  const maxAttempts = o.maxAttempts ?? 4;
  const domain = getDomain(o.domain);
  const tasks = o.limit !== undefined ? selectTasks(domain, o).slice(0, o.limit) : selectTasks(domain, o);
  const taskById = new Map<string, Task>(tasks.map((t) => [t.id, t]));
  const taskOf = (id: string) => {
    const t = taskById.get(id);
    if (!t) throw new Error(`task "${id}" is not part of this evaluation`);
    return t;
  };

  const previous = existsSync(o.out) ? readResultsFile(o.out) : null;
  if (previous) checkResumable(previous, { domain: o.domain, seed: o.seed, trials: o.trials }, o.out);
  const selected = new Set(tasks.map((t) => t.id));
  // Keep everything the file already holds (even other tasks), minus infrastructure errors of the
  // tasks we are about to redo.
  const kept = (previous?.simulations ?? []).filter((s) => !selected.has(s.task_id) || s.termination_reason !== 'infrastructure_error');
  const finished = finishedSimulations(previous).filter((s) => selected.has(s.task_id));
  const plan = planSimulations(tasks, o.trials, o.seed, finished);
  const sims = new Map<string, SimulationRun>(kept.map((s) => [simKey(s.task_id, s.trial ?? 0), s]));
  const total = tasks.length * o.trials;

  const info = runInfo({
    domain: o.domain,
    policy: domain.policy(),
    agentModel: o.agentLabel,
    userModel: o.userLabel,
    agentImplementation: o.agent.kind === 'oracle' ? 'oracle_test_harness' : o.agent.mayStop ? 'llm_agent_may_stop' : 'llm_agent',
    userImplementation: o.user.kind === 'scripted' ? 'scripted_test_harness' : 'user_simulator',
    agentLlmArgs: o.agent.kind === 'llm' ? { temperature: o.agent.model.temperature ?? 0, max_tokens: o.agent.model.maxTokens ?? null } : {},
    userLlmArgs: o.user.kind === 'llm' ? { temperature: o.user.model.temperature ?? 0, max_tokens: o.user.model.maxTokens ?? null } : {},
    numTrials: o.trials,
    maxSteps: o.maxSteps,
    maxErrors: o.maxErrors,
    seed: o.seed,
  });
  const allTasks = [...(previous?.tasks ?? []).filter((t) => !selected.has(t.id)), ...(tasks as unknown as Results['tasks'])];
  const snapshot = (): Results => buildResults(info, allTasks, [...sims.values()]);
  const isMine = (s: SimulationRun) => selected.has(s.task_id);
  const doneCount = () => [...sims.values()].filter(isMine).length;

  if (plan.length === 0) {
    log(`eval: all ${total} simulation(s) already in ${o.out}; nothing to run`);
    const results = snapshot();
    return { results, ran: 0, reRequested: 0 };
  }
  const needJudge = tasks.filter((t) => t.evaluation_criteria && rewardBasisOf(t.evaluation_criteria).includes('NL_ASSERTION')).map((t) => t.id);
  if (needJudge.length && !o.judge) {
    log(`eval: WARNING: ${needJudge.length} task(s) grade NL assertions and no judge is configured (--judge-model/--judge-base-url); they will be recorded as infrastructure_error unless they end before grading: ${needJudge.join(', ')}`);
  }
  log(`eval: ${o.domain}, ${tasks.length} task(s) × ${o.trials} trial(s) = ${total}; ${total - plan.length} already done, ${plan.length} to run; concurrency ${o.concurrency}`);

  const runTag = `eval-${newRunId()}-${randomBytes(3).toString('hex')}`;
  // Bad model settings fail here, before anything is started.
  if (o.agent.kind === 'llm') parseRoleModelConfig('actor', o.agent.model);
  if (o.user.kind === 'llm') parseRoleModelConfig('user-simulator', o.user.model);
  o.onRunDir?.(runDir(runTag));
  const session = await openNatsSession(o.nats, { runDir: runDir(runTag), name: 'troupe-eval' });
  const nc: NatsConnection = session.nc;
  // The evaluation is a run: `troupe cancel <run>` (or Ctrl-C) drops its remaining dialogues.
  const run = await RunHandle.start(nc, runTag, 'eval');
  const bus = new Bus(nc, { role: 'eval', instance: runTag });
  let services: EvalServices | undefined;
  try {
    services = o.localServices === false ? undefined : await startEvalServices(nc, { domain: o.domain, taskOf, run: { env: true, agent: o.agent, user: o.user }, instance: runTag, wrapModel: o.wrapModel });
  } catch (e) {
    await session.close();
    throw e;
  }
  const host =
    o.localScenes === false
      ? undefined
      : new RoleHost({
          bus,
          role: defineRole({
            ...sceneRole,
            machine: sceneMachineFor({ connection: async () => nc, historyOf: (req) => historyFromTask(taskOf(req.taskId)), rpcTimeoutMs: o.rpcTimeoutMs }),
          }),
          instance: `scene-${runTag}`,
          concurrency: o.concurrency,
          log: (l) => log(`scene: ${l}`),
        });

  const started = Date.now();
  let ranHere = 0;
  const readers: { stop(): void }[] = [];
  // The effects the eval machine (machine.ts) asks for; it makes every decision itself.
  const effects: EvalEffects = {
    async start() {
      await host?.start();
      await o.onReady?.(session.settings);
    },
    async request(p, attempt) {
      const dialogueId = `${runTag}/${p.taskId}/t${p.trial}/a${attempt}`;
      const req: DialogueRequest = {
        dialogueId,
        domain: o.domain,
        taskId: p.taskId,
        trial: p.trial,
        seed: p.seed,
        agent: { implementation: info.agent_info.implementation, model: o.agentLabel },
        user: { implementation: info.user_info.implementation, model: o.userLabel },
        limits: { maxSteps: o.maxSteps, maxErrors: o.maxErrors },
      };
      await bus.publish(DialogueRequested, req, { key: dialogueId, run: runTag });
      return dialogueId;
    },
    listen(send) {
      let stopped = false;
      void (async () => {
        const completed = await (await subjectReader(nc, DialogueCompleted.subject, { from: 'new' })).consume();
        readers.push(completed);
        const dead = await (await subjectReader(nc, `${DEAD_LETTER_PREFIX}.${DialogueRequested.kind}`, { stream: DEAD_LETTER_STREAM, from: 'new' })).consume();
        readers.push(dead);
        if (stopped) {
          completed.stop();
          dead.stop();
          return;
        }
        send({ type: 'listening' });
        void (async () => {
          for await (const m of completed) {
            const d = decodeEnvelope<DialogueResult>(m.data, DialogueCompleted.kind);
            if (d.ok && !stopped) send({ type: 'completed', result: d.envelope.data });
          }
        })();
        void (async () => {
          for await (const m of dead) {
            try {
              const letter = JSON.parse(new TextDecoder().decode(m.data)) as { reason?: string; body?: string };
              const id = (JSON.parse(letter.body ?? '{}') as { data?: { dialogueId?: string } }).data?.dialogueId;
              if (id && !stopped) send({ type: 'deadLettered', dialogueId: id, reason: letter.reason ?? '?' });
            } catch {
              // not one of ours
            }
          }
        })();
      })().catch((error) => send({ type: 'listenFailed', error }));
      return () => {
        stopped = true;
        for (const r of readers) r.stop();
      };
    },
    grade: (result) =>
      evaluateSimulation(
        { task_id: result.taskId, termination_reason: result.terminationReason, messages: result.messages as SimulationRun['messages'] },
        taskOf(result.taskId),
        (opt) => domain.createEnvironment({ solo: opt?.solo }),
        { mode: 'strict', judge: o.judge },
      ),
    // A task the configuration cannot grade (no NL judge, bad criteria) fails the same way every time.
    deterministicGradingError: (e) => e instanceof EvaluationCriteriaError || /needs an NL judge/.test((e as Error)?.message ?? ''),
    toSimulation: (result, reward) => toSimulationRun(result, reward),
    emptyResult(dialogueId, p) {
      const now = new Date().toISOString();
      return {
        dialogueId,
        domain: o.domain,
        taskId: p.taskId,
        trial: p.trial,
        seed: p.seed,
        terminationReason: 'infrastructure_error',
        messages: [],
        steps: 0,
        numErrors: 0,
        startTime: now,
        endTime: now,
        durationMs: 0,
        agentCost: 0,
        userCost: 0,
        agentUsage: { prompt_tokens: 0, completion_tokens: 0 },
        userUsage: { prompt_tokens: 0, completion_tokens: 0 },
      };
    },
    async recorded(sim) {
      if (/error/.test(sim.termination_reason)) lastError = `${sim.task_id}: ${sim.termination_reason}${(sim as { info?: { error?: string } }).info?.error ? ` (${(sim as { info?: { error?: string } }).info!.error})` : ''}`;
      sims.set(simKey(sim.task_id, sim.trial ?? 0), sim);
      ranHere++;
      writeAtomically(o.out, snapshot());
      const done = doneCount();
      const elapsed = (Date.now() - started) / 1000;
      const eta = (elapsed / ranHere) * (total - done);
      const reward = sim.reward_info?.reward;
      log(
        `[${done}/${total}] ${sim.task_id} trial ${sim.trial}: ${sim.termination_reason === 'infrastructure_error' ? 'infrastructure_error' : `reward ${reward?.toFixed(2)} (${sim.termination_reason})`}` +
          ` | pass^1 ${runningPass1([...sims.values()].filter(isMine)).toFixed(3)} | ${fmtDuration(elapsed)} elapsed, ETA ${fmtDuration(eta)}`,
      );
      await o.onSimulation?.(sim, done, total);
    },
    async close() {
      // Settle the run in the run table while the connection is still open.
      if (aborted) await run.cancel('interrupted').catch(() => {});
      else if (doneCount() >= total) await run.finish().catch(() => {});
      else await run.cancel('ended with unfinished simulations').catch(() => {});
      for (const r of readers) r.stop();
      await host?.drain().catch(() => undefined);
      await services?.stop();
      await session.close();
      if (o.agent.kind === 'llm' || o.user.kind === 'llm') await stopLocalModelServer();
    },
    log,
  };

  let aborted = false;
  const actor = createActor(evalMachine, { input: { plan, maxAttempts, deadlineMs: o.deadlineMs, effects } });
  const done = toPromise(actor);
  actor.start();
  // Ctrl-C ends the run the way a deadline does: close, keep what was recorded.
  const onAbort = () => {
    aborted = true;
    actor.send({ type: 'deadline' });
  };
  if (o.abort?.aborted) onAbort();
  else o.abort?.addEventListener('abort', onAbort, { once: true });
  // At least every 10 s: stage, done/total, ETA, the last error.
  const progress = setInterval(() => {
    const doneNow = doneCount();
    const elapsed = (Date.now() - started) / 1000;
    const eta = ranHere > 0 ? fmtDuration((elapsed / ranHere) * (total - doneNow)) : 'after the first result';
    const inFlight = actor.getSnapshot().context.ledger.pending.size;
    out(`[eval ${fmtDuration(elapsed)}] playing: ${doneNow}/${total} done, ${inFlight} dialogue(s) in flight · ETA ${eta}${lastError ? ` · last error: ${lastError.slice(0, 160)}` : ''}`);
  }, o.progressEveryMs ?? 10_000);
  let end: Awaited<typeof done>;
  try {
    end = await done;
  } finally {
    clearInterval(progress);
    o.abort?.removeEventListener('abort', onAbort);
  }
  if (end.error !== undefined) throw end.error;
  if (aborted) log(`eval: interrupted with ${end.unfinished} simulation(s) unfinished; run ${runTag} cancelled (results so far are in ${o.out})`);
  else if (end.unfinished > 0) throw new Error(`eval: ${end.unfinished} simulation(s) unfinished after ${o.deadlineMs} ms (results so far are in ${o.out})`);
  const results = snapshot();
  return { results, ran: end.ran, reRequested: end.reRequested };
}

export function finalReport(results: Results, domainTasks?: Set<string>): string {
  const sims = domainTasks ? results.simulations.filter((s) => domainTasks.has(s.task_id)) : results.simulations;
  return `per-task outcomes (successes/graded trials):\n${perTaskOutcomes(sims)}\n\n${passKTable(sims)}`;
}
