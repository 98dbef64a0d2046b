// The eval runner through a real nats-server with cheap roles — the ORACLE agent and the SCRIPTED
// user (both test harnesses) — so what is checked is the plumbing: resume, infrastructure retries,
// and replicas killed mid-run (real processes) without losing or double-counting a simulation.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { runEval, type EvalOptions } from '../../cli/drivers/eval/runner.ts';
import { startEvalServices, type EvalServices } from '../../cli/drivers/eval/services.ts';
import { simKey } from '../../cli/drivers/eval/plan.ts';
import { readResultsFile, writeResultsFile } from '../../domains/evaluator/results-io.ts';
import { getDomain } from '../../domains/registry.ts';
import { computeMetrics } from '../../domains/metrics/pass-k.ts';
import { gradedTrials } from '../../cli/drivers/eval/report.ts';
import { serveAgent, serveEnvironment } from '../../actors/kit/remote.ts';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import { ServiceUnavailableError } from '../../runtime/rpc/rpc.ts';
import { openTaskEnvironment, taskResolver } from '../../actors/kit/task-env.ts';
import { connectNats } from '../../runtime/nats/connect.ts';

import '../helpers/tau2.ts';
const REPO = join(import.meta.dirname, '..', '..');
const mock = getDomain('mock');
const taskOf = taskResolver(mock);
// Mock tasks the oracle passes without the user's own tool calls.
const TASKS = ['create_task_1', 'update_task_1', 'create_task_1_with_env_assertions'];

const base = (out: string, o: Partial<EvalOptions> = {}): EvalOptions => ({
  domain: 'mock',
  taskIds: TASKS.slice(0, 2),
  agent: { kind: 'oracle' },
  user: { kind: 'scripted' },
  agentLabel: 'oracle-test-harness',
  userLabel: 'scripted-test-harness',
  trials: 2,
  concurrency: 2,
  seed: 300,
  maxSteps: 30,
  maxErrors: 10,
  out,
  log: () => undefined,
  deadlineMs: 150_000,
  ...o,
});

describe('eval through the society (oracle + scripted user harnesses)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-eval-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes: keeps finished simulations, runs the missing ones and redoes infrastructure errors', async () => {
    const out = join(dir, 'resume.json');
    const first = await runEval(base(out));
    expect(first.ran).toBe(4);
    expect(first.results.simulations.every((s) => s.reward_info?.reward === 1)).toBe(true);

    // Simulate an interrupted run: one simulation missing, one recorded as an infrastructure error.
    const file = readResultsFile(out);
    const [keep1, keep2, dropped, infra] = file.simulations;
    writeResultsFile(out, { ...file, simulations: [keep1, keep2, { ...infra, termination_reason: 'infrastructure_error', reward_info: null }] });
    const second = await runEval(base(out));
    expect(second.ran).toBe(2);
    const sims = readResultsFile(out).simulations;
    expect(sims).toHaveLength(4);
    expect(new Set(sims.map((s) => simKey(s.task_id, s.trial!))).size).toBe(4);
    // Finished ones untouched (same ids), the two others re-played (new ids).
    const ids = new Set(sims.map((s) => s.id));
    expect(ids.has(keep1.id) && ids.has(keep2.id)).toBe(true);
    expect(ids.has(dropped.id) || ids.has(infra.id)).toBe(false);
    expect(sims.every((s) => s.reward_info?.reward === 1)).toBe(true);
  }, 120_000);

  it('retries infrastructure failures, then records infrastructure_error and leaves it out of pass^k', async () => {
    const out = join(dir, 'retry.json');
    const opens: Record<string, number> = {};
    let nc: NatsConnection | undefined;
    let svc: EvalServices | undefined;
    let env: { stop(): Promise<void> } | undefined;
    let agent: { stop(): Promise<void> } | undefined;
    const badReplied = new Set<string>();
    const logLines: string[] = [];
    try {
      const r = await runEval(
        base(out, {
          taskIds: TASKS,
          trials: 1,
          localServices: false,
          log: (l) => logLines.push(l),
          onReady: async (nats) => {
            nc = await connectNats(nats);
            svc = await startEvalServices(nc, { domain: 'mock', taskOf, run: { user: { kind: 'scripted' } }, instance: 'test' });
            // The oracle, except that its first dialogue of the third task gets a reply τ² would raise on.
            agent = serveAgent(nc, {
              domain: 'mock',
              from: { role: 'actor', instance: 'flaky' },
              agentFor: (req) => {
                if (req.taskId === TASKS[2] && !badReplied.has(req.taskId)) {
                  badReplied.add(req.taskId);
                  throw new Error('malformed tool call "create_task" (invalid_json): Unexpected token } in JSON');
                }
                return createOracleAgent(taskOf(req.taskId!));
              },
            });
            // An environment service that is down for create_task_1's first two attempts, and always for update_task_1.
            env = serveEnvironment(nc, {
              domain: 'mock',
              from: { role: 'env-mock', instance: 'flaky' },
              open: (id) => {
                opens[id] = (opens[id] ?? 0) + 1;
                if (id === 'update_task_1' || opens[id] <= 2) throw new ServiceUnavailableError(`environment store unreachable (${id}, try ${opens[id]})`);
                return openTaskEnvironment(mock, taskOf(id));
              },
            });
            await nc.flush();
          },
        }),
      );
      expect(opens.create_task_1).toBe(3);
      expect(opens.update_task_1).toBe(4); // first try + 3 retries
      const byTask = Object.fromEntries(r.results.simulations.map((s) => [s.task_id, s]));
      expect(byTask.create_task_1.reward_info?.reward).toBe(1);
      expect(byTask.update_task_1.termination_reason).toBe('infrastructure_error');
      // The invalid-JSON reply made its dialogue end in agent_error; it was re-run and passed.
      expect(badReplied.has(TASKS[2])).toBe(true);
      expect(logLines.some((l) => l.includes(`${TASKS[2]} trial 0 attempt 1 failed (agent_error`))).toBe(true);
      expect(byTask[TASKS[2]].reward_info?.reward).toBe(1);
      expect(r.reRequested).toBe(1);
      const m = computeMetrics(gradedTrials(r.results.simulations));
      expect(m.num_excluded).toBe(1);
      expect(m.pass_hat_ks[1]).toBe(1);
    } finally {
      await agent?.stop();
      await env?.stop();
      await svc?.stop();
      await nc?.close();
    }
  }, 120_000);

  it('grades NL assertions with the configured judge; without one the task is recorded as infrastructure_error, not retried', async () => {
    // A task file (--tasks) holding the mock NL task with NL_ASSERTION in its reward basis, as retail's tasks have.
    const nl = 'create_task_1_nl_eval';
    const raw = JSON.parse(readFileSync(join(process.env.TAU2_DATA_DIR!, 'tau2', 'domains', 'mock', 'tasks.json'), 'utf8')) as { id: string; evaluation_criteria: Record<string, unknown> }[];
    const t = raw.find((x) => x.id === nl)!;
    const tasksFile = join(dir, 'nl-tasks.json');
    writeFileSync(tasksFile, JSON.stringify([{ ...t, evaluation_criteria: { ...t.evaluation_criteria, reward_basis: ['DB', 'NL_ASSERTION'] } }]));
    const without = await runEval(base(join(dir, 'nl-none.json'), { taskIds: undefined, tasksFile, trials: 1 }));
    expect(without.results.simulations[0].termination_reason).toBe('infrastructure_error');
    expect(without.reRequested).toBe(0);
    const asked: string[][] = [];
    const judge = {
      async judge(_trajectory: string, assertions: readonly string[]) {
        asked.push([...assertions]);
        return assertions.map((a) => ({ expectedOutcome: a, reasoning: 'stub', metExpectation: true }));
      },
    };
    const withJudge = await runEval(base(join(dir, 'nl-judge.json'), { taskIds: undefined, tasksFile, trials: 1, judge }));
    expect(asked).toHaveLength(1);
    expect(withJudge.results.simulations[0].reward_info?.reward).toBe(1);
    expect(withJudge.results.simulations[0].reward_info?.nl_assertions?.length).toBe(asked[0].length);
  }, 60_000);

  it('survives killing an environment+agent replica process mid-run: every (task, trial) recorded exactly once', async () => {
    const out = join(dir, 'kill.json');
    const procs: ChildProcess[] = [];
    let killedAt = -1;
    const logLines: string[] = [];
    const spawnReplica = (nats: { url: string; user?: string; pass?: string }) =>
      new Promise<ChildProcess>((resolve, reject) => {
        const c = spawn(
          process.execPath,
          ['--import', 'tsx', 'cli/drivers/eval/serve.ts', '--nats', nats.url, '--nats-user', nats.user!, '--nats-pass', nats.pass!, '--domain', 'mock',
            '--services', 'env,agent,user', '--agent', 'oracle', '--user', 'scripted', '--harness-delay-ms', '150'],
          { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        children.push(c);
        c.once('exit', (code) => reject(new Error(`replica exited early (${code})`)));
        c.stdout!.on('data', (b: Buffer) => {
          if (b.toString().includes('serving')) resolve(c);
        });
      });
    const r = await runEval(
      base(out, {
        taskIds: TASKS,
        trials: 3,
        concurrency: 3,
        localServices: false,
        rpcTimeoutMs: 4_000,
        log: (l) => logLines.push(l),
        onReady: async (nats) => {
          procs.push(await spawnReplica(nats), await spawnReplica(nats));
        },
        onSimulation: (_sim, done) => {
          if (killedAt < 0) {
            killedAt = done;
            procs[0].kill('SIGKILL'); // mid-run: other dialogues are in flight on it
          }
        },
      }),
    );
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    expect(killedAt).toBe(1);
    expect(procs[0].signalCode).toBe('SIGKILL');
    const sims = readResultsFile(out).simulations;
    expect(sims).toHaveLength(9);
    expect(new Set(sims.map((s) => simKey(s.task_id, s.trial!))).size).toBe(9);
    expect(sims.filter((s) => s.termination_reason === 'infrastructure_error')).toEqual([]);
    expect(sims.every((s) => s.reward_info?.reward === 1)).toBe(true);
    expect(r.ran).toBe(9);
  }, 180_000);
});
