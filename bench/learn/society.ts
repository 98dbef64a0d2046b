// bench/learn/society: what one GRPO step through the society costs with a real policy — collect
// (G dialogues over NATS: agent on a model server serving the policy, user simulator, environment;
// checkers in the sandbox), update (the clipped-surrogate step) and publish (export, object store,
// model server reload) — on mock-domain tasks whose checkers the verifier's code compiles from the
// gold actions.
//
// Run by hand:
//   TAU2_DATA_DIR=… npx tsx bench/learn/society.ts [--steps 1] [--group 4] [--user llm|scripted]
//       [--max-steps 8] [--agent-max-tokens 96] [--dtype F16|Q8_0] [--lora 0] [--max-seq-len 4096] [--random 0]
//       [--out bench/results/learn-society]
// The default model (135M) now fits an update on ~1.3k-token dialogues into the wasm backend's 4 GB
// heap (activation recomputation, chunked loss head: docs/learner.md) (about a minute of update per rollout);
// --random 64 times the loop quickly with a small policy and the real user simulator.
// Filtering is off (every group trains, also all-failure ones with zero advantages) so each step
// times a full update; the run dir holds metrics.jsonl, rollouts.jsonl and the report.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { rlTask } from '../../cli/drivers/synth/export.ts';
import { compileChecker, goldDiff, specFromDiff } from '../../actors/verifier/checker.ts';
import { getDomain } from '../../domains/registry.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';
import { completeTask, createAndComplete } from '../../tests/synthesis/fixtures/mock-tasks.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1' },
    group: { type: 'string', default: '4' },
    user: { type: 'string', default: 'llm' },
    'max-steps': { type: 'string', default: '8' },
    'agent-max-tokens': { type: 'string', default: '96' },
    dtype: { type: 'string', default: 'F16' },
    lora: { type: 'string', default: '0' },
    'max-seq-len': { type: 'string', default: '4096' },
    /** Policy: 0 = the default model (135M); N = a random 2-layer Llama of width N with the default tokenizer. */
    random: { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/results/learn-society' },
  },
});
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const say = (s: string) => console.log(`[bench learn-society] ${s}`);

// RL tasks as `troupe export rl` writes them, with the verifier's compiled checkers.
const mock = getDomain('mock');
const lines = [completeTask, createAndComplete].map((task) => {
  const { changes, writeCalls } = goldDiff(mock, task);
  const source = compileChecker(task.id, specFromDiff(changes, writeCalls));
  const record = { domain: 'mock', task, criteria: task.evaluation_criteria, checker: { source }, provenance: { bench: 'learn-society' } } as unknown as DatasetRecord;
  return JSON.stringify(rlTask(record, mock));
});
const tasksPath = join(out, 'rl_tasks.jsonl');
writeFileSync(tasksPath, lines.join('\n') + '\n');

const G = Number(values.group);
const lora = Number(values.lora);
const width = Number(values.random);
const cfg = parseTrainConfig(`
${width ? `[model.random]\ndim = ${width}\nnLayers = 2\nnHeads = 4\nnKvHeads = 2\nheadDim = ${width / 4}\nffnDim = ${2 * width}\ncontextLength = 4096\n` : ''}
${lora ? `[model.lora]\nrank = ${lora}\nalpha = ${2 * lora}\n` : ''}
[train]
steps = ${Number(values.steps)}
microBatch = 1
lr = 1e-6
maxSeqLen = ${Number(values['max-seq-len'])}
[grpo]
groupSize = ${G}
groupsPerStep = 1
maxAttempts = 1
dropAllSuccess = false
dropAllFailure = false
[rollouts]
source = "society"
tasks = "${tasksPath}"
concurrency = ${G}
maxSteps = ${Number(values['max-steps'])}
user = "${values.user}"
userModel = { model = "local", temperature = 0, maxTokens = 64 }
agentMaxTokens = ${Number(values['agent-max-tokens'])}
[publish]
every = 1
dtype = "${values.dtype}"
keep = 1
[output]
dir = "${join(out, 'run')}"
export = []
checkpointEvery = 0
`, 'bench');
const t0 = performance.now();
const r = await runTraining('grpo', cfg);
const wall = (performance.now() - t0) / 1000;
const rows = readFileSync(join(r.dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const rollouts = readFileSync(join(r.dir, 'rollouts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const steps = rows.filter((x) => x.event !== 'publish');
const pubs = rows.filter((x) => x.event === 'publish');
const summary = {
  wallSeconds: wall,
  group: G,
  user: values.user,
  dialogues: rollouts.length,
  meanDialogueSeconds: rollouts.reduce((s, x) => s + x.seconds, 0) / rollouts.length,
  meanTokens: rollouts.reduce((s, x) => s + x.tokens, 0) / rollouts.length,
  meanAgentTokens: rollouts.reduce((s, x) => s + x.agentTokens, 0) / rollouts.length,
  meanReward: rollouts.reduce((s, x) => s + x.reward, 0) / rollouts.length,
  terminations: rollouts.reduce((m: Record<string, number>, x) => ({ ...m, [x.termination]: (m[x.termination] ?? 0) + 1 }), {}),
  steps: steps.map((s) => ({ step: s.step, stepSeconds: s.seconds, trainTokens: s.trainTokens, trainTokensPerSec: s.tokensPerSec })),
  publishes: pubs.map((p) => ({ version: p.publishedVersion, mb: (p.publish.bytes ?? 0) / 1e6, exportPutMs: p.publish.publishMs, reloadMs: p.publish.servers?.[0]?.ms, ok: p.publish.servers?.[0]?.ok })),
};
writeFileSync(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
say(JSON.stringify(summary, null, 2));
