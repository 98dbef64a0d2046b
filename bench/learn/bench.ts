// bench/learn: a tiny model trained from scratch with SFT, then GRPO, on synthesized tool-call
// tasks of a mock store domain; greedy pass rate on held-out tasks before and after each stage,
// GRPO with and without dynamic filtering; curves and a report in bench/results/learn/.
//
// The task: the user turn names an intent (where / cancel / refund) and an order id (two id
// tokens); the agent must answer with exactly one tool call: CALL <tool> <id1> <id2> END, where
// the tool matches the intent (get_order / cancel_order / refund_order). The checker accepts only
// the exact call. Ids are split so that a quarter of them never appear in training.
//
// Run by hand:  npx tsx bench/learn/bench.ts [--sft-steps 60] [--grpo-steps 40]
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../nn/backend/backend.ts';
import { initParams, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { saveModelSafetensors, loadModelSafetensors } from '../../nn/model/export.ts';
import { runSft } from '../../nn/train/sft-trainer.ts';
import { runGrpo, defaultGrpoConfig, type GrpoStepMetrics } from '../../actors/learner/grpo-trainer.ts';
import { PromptRolloutSource, greedyPassRate, type PromptTask } from '../../actors/learner/prompt-source.ts';
import { lineChartSvg } from '../../cli/drivers/svg-chart.ts';

const { values } = parseArgs({ options: { 'sft-steps': { type: 'string', default: '170' }, 'grpo-steps': { type: 'string', default: '60' }, 'sft-lr': { type: 'string', default: '1e-2' }, 'grpo-lr': { type: 'string', default: '2e-3' }, out: { type: 'string', default: 'bench/results/learn' } } });
const SFT_STEPS = Number(values['sft-steps']), GRPO_STEPS = Number(values['grpo-steps']);
const SFT_LR = Number(values['sft-lr']), GRPO_LR = Number(values['grpo-lr']);
const OUT = values.out!;
mkdirSync(OUT, { recursive: true });
await initBackend();
const log = (s: string) => console.log(`[bench learn] ${s}`);

// Vocabulary
const PAD = 0, BOS = 1, USER = 2, EOU = 3, CALL = 4, END = 5;
const INTENT0 = 6; // where, cancel, refund
const TOOL0 = 9; // get_order, cancel_order, refund_order
const ID0 = 12; // 8 id symbols
const V = ID0 + 8;
const cfg: LlamaConfig = { vocabSize: V, dim: 32, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 8, ffnDim: 64, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 16 };

function makeTask(intent: number, a: number, b: number): PromptTask & { answer: number[] } {
  const prompt = [BOS, USER, INTENT0 + intent, ID0 + a, ID0 + b, EOU];
  const answer = [CALL, TOOL0 + intent, ID0 + a, ID0 + b, END];
  return { id: `${intent}-${a}${b}`, prompt, answer, check: (g) => (g.length >= 5 && answer.every((t, i) => g[i] === t) ? 1 : 0) };
}
const all = [] as ReturnType<typeof makeTask>[];
for (let i = 0; i < 3; i++) for (let a = 0; a < 8; a++) for (let b = 0; b < 8; b++) all.push(makeTask(i, a, b));
// Held-out: ids whose (a + 3b) % 4 == 0 — a quarter of the id pairs, for every intent.
const heldOut = all.filter((t) => { const a = t.prompt[3] - ID0, b = t.prompt[4] - ID0; return (a + 3 * b) % 4 === 0; });
const train = all.filter((t) => !heldOut.includes(t));
log(`${train.length} training tasks, ${heldOut.length} held-out tasks; model ${JSON.stringify(cfg)}`);

const newModel = (): LlamaModel => ({ config: cfg, params: initParams(cfg, 21) });
const evalModel = (m: LlamaModel) => ({ heldOut: greedyPassRate(m, heldOut, 5, END), train: greedyPassRate(m, train, 5, END) });

// ---- SFT from scratch on demonstrations of the training tasks
const model = newModel();
const before = evalModel(model);
log(`before training: held-out pass ${before.heldOut.toFixed(3)}, train pass ${before.train.toFixed(3)}`);
const examples = train.map((t) => ({ tokens: [...t.prompt, ...t.answer], mask: [...t.prompt.map(() => 0), ...t.answer.map(() => 1)] }));
const sftCurve: { step: number; loss: number }[] = [];
await runSft(model, examples, { steps: SFT_STEPS, batchSize: 32, microBatch: 32, padId: PAD, seed: 3, adam: { lr: SFT_LR, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } }, {
  onStep: (m) => {
    sftCurve.push({ step: m.step, loss: m.loss });
    if (m.step % 25 === 0) log(`sft step ${m.step} loss ${m.loss.toFixed(3)} held-out pass ${greedyPassRate(model, heldOut, 5, END).toFixed(3)}`);
  },
});
const afterSft = evalModel(model);
log(`after SFT (${SFT_STEPS} steps): held-out pass ${afterSft.heldOut.toFixed(3)}, train pass ${afterSft.train.toFixed(3)}`);
const sftPath = join(OUT, 'sft.safetensors');
saveModelSafetensors(model, sftPath);

// ---- GRPO from the SFT checkpoint, with and without dynamic filtering
interface GrpoRun { name: string; curve: { step: number; reward: number; filtered: number; heldOut?: number }[]; final: { heldOut: number; train: number }; rolloutsDrawn: number; seconds: number }
const runs: GrpoRun[] = [];
for (const filtering of [true, false]) {
  const m = newModel();
  loadModelSafetensors(m, sftPath);
  const src = new PromptRolloutSource(m, train, 8, 5, END, 7);
  const name = filtering ? 'GRPO, dynamic filtering' : 'GRPO, no filtering';
  const curve: GrpoRun['curve'] = [];
  const t0 = performance.now();
  await runGrpo(m, src, { ...defaultGrpoConfig, steps: GRPO_STEPS, groupsPerStep: 8, maxAttempts: 32, microBatch: 64, dropAllFailure: filtering, dropAllSuccess: filtering, adam: { lr: GRPO_LR, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 } }, {
    onStep: (s: GrpoStepMetrics) => {
      const row: GrpoRun['curve'][number] = { step: s.step, reward: s.reward, filtered: s.filteredFrac };
      if (s.step % 10 === 0) { row.heldOut = greedyPassRate(m, heldOut, 5, END); log(`${name} step ${s.step} reward ${s.reward.toFixed(3)} filtered ${s.filteredFrac.toFixed(2)} held-out pass ${row.heldOut.toFixed(3)}`); }
      curve.push(row);
    },
  });
  runs.push({ name, curve, final: evalModel(m), rolloutsDrawn: src.drawn * 8, seconds: (performance.now() - t0) / 1000 });
  log(`${name}: held-out pass ${runs[runs.length - 1].final.heldOut.toFixed(3)} (train ${runs[runs.length - 1].final.train.toFixed(3)}), ${src.drawn * 8} rollouts, ${runs[runs.length - 1].seconds.toFixed(0)} s`);
}

// ---- report
writeFileSync(join(OUT, 'sft-loss.svg'), lineChartSvg('SFT loss (tiny model from scratch)', [{ name: 'loss', points: sftCurve.map((p) => ({ x: p.step, y: p.loss })) }], { xLabel: 'step', yLabel: 'loss' }));
writeFileSync(join(OUT, 'grpo-reward.svg'), lineChartSvg('GRPO mean reward of drawn rollouts', runs.map((r) => ({ name: r.name, points: r.curve.map((p) => ({ x: p.step, y: p.reward })) })), { xLabel: 'step', yLabel: 'reward' }));
writeFileSync(join(OUT, 'grpo-heldout.svg'), lineChartSvg('held-out greedy pass rate during GRPO', runs.map((r) => ({ name: r.name, points: r.curve.filter((p) => p.heldOut !== undefined).map((p) => ({ x: p.step, y: p.heldOut! })) })), { xLabel: 'step', yLabel: 'pass rate' }));
const table = [
  '| stage | held-out pass | train pass | rollouts drawn | seconds |', '|---|---|---|---|---|',
  `| random init | ${before.heldOut.toFixed(3)} | ${before.train.toFixed(3)} | | |`,
  `| SFT, ${SFT_STEPS} steps | ${afterSft.heldOut.toFixed(3)} | ${afterSft.train.toFixed(3)} | | |`,
  ...runs.map((r) => `| SFT + ${r.name}, ${GRPO_STEPS} steps | ${r.final.heldOut.toFixed(3)} | ${r.final.train.toFixed(3)} | ${r.rolloutsDrawn} | ${r.seconds.toFixed(0)} |`),
];
writeFileSync(join(OUT, 'report.md'), ['# bench/learn', '', ...table, '', '![SFT loss](sft-loss.svg)', '![GRPO reward](grpo-reward.svg)', '![held-out pass](grpo-heldout.svg)', ''].join('\n'));
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ before, afterSft, runs: runs.map((r) => ({ name: r.name, final: r.final, rolloutsDrawn: r.rolloutsDrawn, seconds: r.seconds })) }, null, 2));
console.log('\n' + table.join('\n'));
