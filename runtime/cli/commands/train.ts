// `troupe train sft|user-sft|grpo --config FILE [--out DIR] [--resume] [--steps N]`
import { parseArgs } from 'node:util';
import { loadTrainConfig, TrainConfig } from '../../../actors/learner/config.ts';
import { runTraining, type TrainMode } from '../../../actors/learner/train-run.ts';

const USAGE = `usage: troupe train <sft|user-sft|grpo> [--config FILE] [--out DIR] [--resume] [--steps N]

  sft        the agent on exported SFT dialogues (loss on assistant turns and tool calls)
  user-sft   the user simulator on the role-flipped dialogues (loss on user turns)
  grpo       GRPO with verifier rewards (rollout source: the in-process toy task for now)

  --config FILE   TOML or JSON run configuration (see docs/learner.md); defaults apply without one
  --out DIR       run directory (metrics.jsonl, report.md, curves, checkpoint/, exported weights)
  --resume        continue from DIR/checkpoint when present
  --steps N       override train.steps`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, steps: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) { console.log(USAGE); return 0; }
  const mode = positionals[0] as TrainMode | undefined;
  if (!mode || !['sft', 'user-sft', 'grpo'].includes(mode)) {
    console.error(`troupe train: expected a mode (sft, user-sft or grpo)${mode ? `, got "${mode}"` : ''}\n\n${USAGE}`);
    return 2;
  }
  const cfg = values.config ? loadTrainConfig(values.config) : TrainConfig.parse({});
  if (values.out) cfg.output.dir = values.out;
  if (values.steps) {
    const n = Number(values.steps);
    if (!Number.isInteger(n) || n <= 0) { console.error(`troupe train: --steps must be a positive integer, got "${values.steps}"`); return 2; }
    cfg.train.steps = n;
  }
  if (values.resume && !cfg.output.dir) { console.error('troupe train: --resume needs --out DIR (or output.dir) to find the checkpoint'); return 2; }
  await runTraining(mode, cfg, { resume: values.resume });
  return 0;
}
