// Rollout throughput of `troupe eval` with the local model as agent AND user: dialogues per minute at
// several scene concurrencies, and the share of wall time during which no model call is in flight
// (the orchestration's cost: bus, scene machine, environment, grading, results writing).
//
//   TAU2_DATA_DIR=… npx tsx bench/rollouts/run.ts [--concurrency 1,4,8] [--dialogues 8]
//       [--max-steps 4] [--max-tokens 32] [--domain mock]
//
// Each level: the model is warmed first (load time excluded), then N tasks × 1 trial run through
// runEval (embedded nats-server, scene role over JetStream, services over request/reply). Wall time
// runs from the first request to the last written result; "outside model" is the part of it not
// covered by the union of all model-call intervals (agent and user).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runEval } from '../../cli/drivers/eval/runner.ts';
import { llmClientFor } from '../../cli/drivers/eval/services.ts';
import { llmClientChatModel } from '../../actors/kit/llm-chat-model.ts';
import type { ChatModel } from '../../actors/kit/ports.ts';
import { getDomain } from '../../domains/registry.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';

/** Total length of the union of [start, end] intervals clipped to [lo, hi]. */
export function unionLength(intervals: [number, number][], lo: number, hi: number): number {
  const xs = intervals.map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as [number, number]).filter(([a, b]) => b > a).sort((p, q) => p[0] - q[0]);
  let total = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of xs) {
    if (a > curB) {
      if (curB > curA) total += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) total += curB - curA;
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      concurrency: { type: 'string', default: '1,4,8' },
      dialogues: { type: 'string', default: '8' },
      'max-steps': { type: 'string', default: '4' },
      'max-tokens': { type: 'string', default: '32' },
      domain: { type: 'string', default: 'mock' },
    },
  });
  const levels = values.concurrency!.split(',').map(Number);
  const n = Number(values.dialogues);
  const maxTokens = Number(values['max-tokens']);
  const domain = getDomain(values.domain!);
  const tasks = domain.loadTasks({ split: 'base' }).slice(0, n);
  if (tasks.length < n) throw new Error(`${values.domain}/base has only ${tasks.length} tasks`);
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-rollouts-'));
  const rows: string[] = [];
  try {
    for (const c of levels) {
      await llmClientChatModel(llmClientFor('bench', { model: 'local', maxTokens: 4 })).complete({ messages: [{ role: 'user', content: 'hi' }] });
      const calls: [number, number][] = [];
      let tokens = 0;
      const wrapModel = (_role: string, m: ChatModel): ChatModel => ({
        async complete(req, signal) {
          const a = performance.now();
          try {
            const r = await m.complete(req, signal);
            tokens += r.usage.completion_tokens;
            return r;
          } finally {
            calls.push([a, performance.now()]);
          }
        },
      });
      let t0 = 0;
      let t1 = 0;
      const { results } = await runEval({
        domain: values.domain!,
        taskIds: tasks.map((t) => t.id),
        agent: { kind: 'llm', model: { model: 'local', temperature: 0, maxTokens } },
        user: { kind: 'llm', model: { model: 'local', temperature: 0, maxTokens } },
        agentLabel: 'local',
        userLabel: 'local',
        trials: 1,
        concurrency: c,
        seed: 300,
        maxSteps: Number(values['max-steps']),
        maxErrors: 10,
        out: join(dir, `c${c}.json`),
        wrapModel,
        log: (l) => console.log(`  c=${c} ${l}`),
        onReady: () => void (t0 = performance.now()),
        onSimulation: () => void (t1 = performance.now()),
      });
      await stopLocalModelServer();
      const wall = t1 - t0;
      const inside = unionLength(calls, t0, t1);
      const infra = results.simulations.filter((s) => s.termination_reason === 'infrastructure_error').length;
      const row = `| ${c} | ${n} | ${(wall / 1000).toFixed(1)} | ${((n / wall) * 60_000).toFixed(2)} | ${calls.length} | ${((calls.length / wall) * 60_000).toFixed(1)} | ${tokens} | ${(((wall - inside) / wall) * 100).toFixed(2)}% | ${infra} |`;
      rows.push(row);
      console.log(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n| concurrency | dialogues | wall s | dialogues/min | model calls | model calls/min | completion tokens | wall outside model calls | infra errors |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
