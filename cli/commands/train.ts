// `troupe train sft|user-sft|grpo --config FILE [--out DIR] [--resume] [--steps N] [--backend NAME]`
import { parseArgs } from 'node:util';
import { loadTrainConfig, TrainConfig } from '../../actors/learner/config.ts';
import { runTraining, type TrainMode } from '../drivers/train/train-run.ts';

const USAGE = `usage: troupe train <sft|user-sft|grpo> [--config FILE] [--out DIR] [--resume] [--steps N] [--backend NAME]

  sft        the agent on exported SFT dialogues (loss on assistant turns and tool calls)
  user-sft   the user simulator on the role-flipped dialogues (loss on user turns)
  grpo       GRPO with verifier rewards; rollouts from the in-process toy task (default) or, with
             [rollouts] source = "society", dialogues through the society on the tasks of an RL
             export (troupe export rl), rewarded by their checkers; the learner reports each step
             on NATS as learn.step.completed (follow it with troupe watch --kind learn.step.completed)

  --config FILE   TOML or JSON run configuration (see docs/learner.md); defaults apply without one
  --out DIR       run directory (metrics.jsonl, report.md, curves, checkpoint/, exported weights)
  --resume        continue from DIR/checkpoint when present
  --steps N       override train.steps
  --backend NAME  force the TensorFlow.js backend (train.backend): tensorflow (native CPU), wasm, cpu,
                  tensorflow-gpu, or auto (the best that loads); a forced one that cannot load is an error

  publishing the policy to actors (or the [publish] section of the config):
  --publish NATS_URL   put the weights (GGUF) into the NATS object store (credentials: the URL or
                       TROUPE_NATS_USER/_PASS/_TOKEN); default URL TROUPE_NATS_URL
  --publish-every N    every N steps (and at the end); default 10
  --reload URL         model server (http://host:port) to reload after each publish; repeatable`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, steps: { type: 'string' }, backend: { type: 'string' }, publish: { type: 'string' }, 'publish-every': { type: 'string' }, reload: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
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
  if (values.backend !== undefined) {
    const b = TrainConfig.shape.train.unwrap().shape.backend.safeParse(values.backend);
    if (!b.success) { console.error(`troupe train: --backend must be one of ${TrainConfig.shape.train.unwrap().shape.backend.unwrap().options.join(', ')}, got "${values.backend}"`); return 2; }
    cfg.train.backend = b.data;
  }
  if (values.publish !== undefined || values['publish-every'] !== undefined || values.reload) {
    const every = values['publish-every'] === undefined ? undefined : Number(values['publish-every']);
    if (every !== undefined && (!Number.isInteger(every) || every <= 0)) { console.error(`troupe train: --publish-every must be a positive integer, got "${values['publish-every']}"`); return 2; }
    const raw = { ...cfg.publish, ...(values.publish ? { nats: values.publish } : {}), ...(every ? { every } : {}), modelServers: [...(cfg.publish?.modelServers ?? []), ...(values.reload ?? [])] };
    const p = TrainConfig.shape.publish.unwrap().safeParse(raw);
    if (!p.success) { console.error(`troupe train: publish options: ${p.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`); return 2; }
    cfg.publish = p.data;
  }
  if (values.resume && !cfg.output.dir) { console.error('troupe train: --resume needs --out DIR (or output.dir) to find the checkpoint'); return 2; }
  await runTraining(mode, cfg, { resume: values.resume });
  return 0;
}
