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
import type { Results, RewardInfo, SimulationRun } from '../../../protocols/tau2/results.ts';
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
import { checkResumable, finishedSimulations, planSimulations, selectTasks, simKey, type PlannedSimulation, type TaskSelection } from './plan.ts';
import { passKTable, perTaskOutcomes, runningPass1 } from './report.ts';
import { startEvalServices, type AgentChoice, type EvalServiceOptions, type UserChoice } from './services.ts';

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

/** Role errors τ² treats as a failed run (re-run, then infrastructure_error), not as the agent's failure. */
export const RERUN_ROLE_ERROR = /\(invalid_json\)|returned an empty message/;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

export async function runEval(o: EvalOptions): Promise<EvalOutcome> {
  const log = o.log ?? ((l: string) => console.log(l));
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
    agentImplementation: o.agent.kind === 'oracle' ? 'oracle_test_harness' : 'llm_agent',
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
  let services: ReturnType<typeof startEvalServices> | undefined;
  try {
    services = o.localServices === false ? undefined : startEvalServices(nc, { domain: o.domain, taskOf, run: { env: true, agent: o.agent, user: o.user }, instance: runTag, wrapModel: o.wrapModel });
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
  let reRequested = 0;
  const pending = new Map<string, { plan: PlannedSimulation; attempt: number }>(); // dialogueId → item
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => (resolveAll = r));
  const readers: { stop(): void }[] = [];

  const request = async (p: PlannedSimulation, attempt: number) => {
    const dialogueId = `${runTag}/${p.taskId}/t${p.trial}/a${attempt}`;
    pending.set(dialogueId, { plan: p, attempt });
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
  };

  let lastError: string | undefined;
  const record = async (sim: SimulationRun) => {
    if (sim.termination_reason === 'infrastructure_error' || /error/.test(sim.termination_reason)) lastError = `${sim.task_id}: ${sim.termination_reason}${(sim as { info?: { error?: string } }).info?.error ? ` (${(sim as { info?: { error?: string } }).info!.error})` : ''}`;
    const key = simKey(sim.task_id, sim.trial ?? 0);
    if (!planKeys.has(key)) return; // already recorded (resumed, or a copy): the first result wins
    sims.set(key, sim);
    planKeys.delete(key);
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
    if (planKeys.size === 0) resolveAll();
  };
  const planKeys = new Set(plan.map((p) => simKey(p.taskId, p.trial)));

  /** A failure seen here: re-request under a new id, or record the infrastructure error. */
  const failed = async (dialogueId: string, why: string, result?: DialogueResult, retry = true) => {
    const item = pending.get(dialogueId);
    if (!item) return;
    pending.delete(dialogueId);
    if (!planKeys.has(simKey(item.plan.taskId, item.plan.trial))) return;
    if (retry && item.attempt < maxAttempts) {
      reRequested++;
      lastError = `${item.plan.taskId}: ${why}`;
      log(`eval: ${item.plan.taskId} trial ${item.plan.trial} attempt ${item.attempt} failed (${why}); retrying`);
      await request(item.plan, item.attempt + 1);
      return;
    }
    const now = new Date().toISOString();
    const base: DialogueResult = result ?? {
      dialogueId,
      domain: o.domain,
      taskId: item.plan.taskId,
      trial: item.plan.trial,
      seed: item.plan.seed,
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
    await record(toSimulationRun({ ...base, terminationReason: 'infrastructure_error', error: why }, null));
  };

  const onCompleted = async (result: DialogueResult) => {
    const item = pending.get(result.dialogueId);
    if (!item) return; // another run's dialogue, or a copy of one already graded
    if (!planKeys.has(simKey(item.plan.taskId, item.plan.trial))) {
      pending.delete(result.dialogueId);
      return;
    }
    if (result.terminationReason === 'infrastructure_error') {
      // The scene role already replayed it INFRA_ATTEMPTS times.
      pending.delete(result.dialogueId);
      await record(toSimulationRun(result, null));
      return;
    }
    if ((result.terminationReason === 'agent_error' || result.terminationReason === 'user_error') && RERUN_ROLE_ERROR.test(result.error ?? '')) {
      // τ² raises on undecodable tool arguments or an empty message and re-runs the simulation.
      await failed(result.dialogueId, `${result.terminationReason}: ${result.error}`, result);
      return;
    }
    let reward: RewardInfo;
    try {
      reward = await evaluateSimulation(
        { task_id: result.taskId, termination_reason: result.terminationReason, messages: result.messages as SimulationRun['messages'] },
        taskOf(result.taskId),
        (opt) => domain.createEnvironment({ solo: opt?.solo }),
        { mode: 'strict', judge: o.judge },
      );
    } catch (e) {
      // A task the configuration cannot grade (no NL judge, bad criteria) fails the same way every time.
      const deterministic = e instanceof EvaluationCriteriaError || /needs an NL judge/.test((e as Error).message);
      await failed(result.dialogueId, `grading: ${(e as Error).name}: ${(e as Error).message}`, result, !deterministic);
      return;
    }
    pending.delete(result.dialogueId);
    await record(toSimulationRun(result, reward));
  };

  // One chain of handlers, so results are graded and written one at a time.
  let chain = Promise.resolve();
  const enqueue = (f: () => Promise<void>) => {
    chain = chain.then(f).catch((e) => log(`eval: internal error: ${(e as Error).stack ?? e}`));
  };

  try {
    const completedReader = await subjectReader(nc, DialogueCompleted.subject, { from: 'new' });
    const completed = await completedReader.consume();
    readers.push(completed);
    void (async () => {
      for await (const m of completed) {
        const d = decodeEnvelope<DialogueResult>(m.data, DialogueCompleted.kind);
        if (d.ok) enqueue(() => onCompleted(d.envelope.data));
      }
    })();
    const dlqReader = await subjectReader(nc, `${DEAD_LETTER_PREFIX}.${DialogueRequested.kind}`, { stream: DEAD_LETTER_STREAM, from: 'new' });
    const dead = await dlqReader.consume();
    readers.push(dead);
    void (async () => {
      for await (const m of dead) {
        try {
          const letter = JSON.parse(new TextDecoder().decode(m.data)) as { reason?: string; body?: string };
          const id = (JSON.parse(letter.body ?? '{}') as { data?: { dialogueId?: string } }).data?.dialogueId;
          if (id) enqueue(() => failed(id, `dead-lettered: ${letter.reason ?? '?'}`));
        } catch {
          // not one of ours
        }
      }
    })();

    await host?.start();
    await o.onReady?.(session.settings);
    for (const p of plan) await request(p, 1);

    const deadline = o.deadlineMs ? new Promise<'deadline'>((r) => setTimeout(() => r('deadline'), o.deadlineMs).unref()) : new Promise<never>(() => {});
    const aborted = new Promise<'aborted'>((r) => (o.abort?.aborted ? r('aborted') : o.abort?.addEventListener('abort', () => r('aborted'), { once: true })));
    // At least every 10 s: stage, done/total, ETA, the last error.
    const progress = setInterval(() => {
      const done = doneCount();
      const elapsed = (Date.now() - started) / 1000;
      const eta = ranHere > 0 ? fmtDuration((elapsed / ranHere) * (total - done)) : 'after the first result';
      log(`[eval ${fmtDuration(elapsed)}] playing: ${done}/${total} done, ${pending.size} dialogue(s) in flight · ETA ${eta}${lastError ? ` · last error: ${lastError.slice(0, 160)}` : ''}`);
    }, o.progressEveryMs ?? 10_000);
    let how: 'done' | 'deadline' | 'aborted';
    try {
      how = await Promise.race([allDone.then(() => 'done' as const), deadline, aborted]);
    } finally {
      clearInterval(progress);
    }
    await chain;
    if (how === 'done') await run.finish();
    else await run.cancel(how === 'aborted' ? 'interrupted' : `deadline of ${o.deadlineMs} ms`);
    if (how === 'deadline') throw new Error(`eval: ${planKeys.size} simulation(s) unfinished after ${o.deadlineMs} ms (results so far are in ${o.out})`);
    if (how === 'aborted') log(`eval: interrupted with ${planKeys.size} simulation(s) unfinished; run ${runTag} cancelled (results so far are in ${o.out})`);
  } finally {
    for (const r of readers) r.stop();
    await host?.drain().catch(() => undefined);
    await services?.stop();
    await session.close();
    if (o.agent.kind === 'llm' || o.user.kind === 'llm') await stopLocalModelServer();
  }
  const results = snapshot();
  return { results, ran: ranHere, reRequested };
}

export function finalReport(results: Results, domainTasks?: Set<string>): string {
  const sims = domainTasks ? results.simulations.filter((s) => domainTasks.has(s.task_id)) : results.simulations;
  return `per-task outcomes (successes/graded trials):\n${perTaskOutcomes(sims)}\n\n${passKTable(sims)}`;
}
