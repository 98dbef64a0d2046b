// Next-call exact match of given GGUFs on a study run's held-out prefixes, served by the current model
// server — to re-score models trained earlier after a change on the serving side (the tool grammar's
// optional arguments, 2026-12-05) without retraining them.
//   npx tsx bench/study/nextcall.ts --out bench/results/study/medium --label grammar-2026-12-05 \
//       [--arms base,sft-verified] [--seeds 1,2,3]
// Writes <out>/eval-nextcall-<label>/<arm>/seed<n>.json and prints hits (all / write targets).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startModelServer } from '../../llm/server/server.ts';
import { modelsDir } from '../../runtime/config/paths.ts';
import { DEFAULT_MODEL } from '../../actors/learner/config.ts';
import { nextCalls, prefixesOf, type Heldout, type SynthRunResult } from './pipeline.ts';
import { SCALES } from './scales.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, label: { type: 'string' }, scale: { type: 'string', default: 'medium' }, arms: { type: 'string', default: 'base,sft-verified' }, seeds: { type: 'string', default: '1,2,3' } } });
if (!values.out || !values.label) throw new Error('usage: --out RUN_FOLDER --label NAME [--scale medium] [--arms …] [--seeds …]');
const out = resolve(values.out);
const scale = SCALES[values.scale!];
const here = new URL('.', import.meta.url).pathname;
const heldout = JSON.parse(readFileSync(join(here, `heldout.${scale.reuse ?? scale.name}.json`), 'utf8')) as Heldout;
const synth = JSON.parse(readFileSync(join(out, 'synth', 'heldout.json'), 'utf8')) as SynthRunResult;
const prefixes = prefixesOf(synth.records, scale.eval.maxPrefixes).filter((p) => heldout.prefixes.some((h) => h.id === p.id));
const writes = new Set(prefixes.filter((p) => p.target.name !== 'get_users').map((p) => p.id));

for (const arm of values.arms!.split(',')) {
  for (const seed of arm === 'base' ? [0] : values.seeds!.split(',').map(Number)) {
    const gguf = arm === 'base' ? join(modelsDir(), DEFAULT_MODEL) : (JSON.parse(readFileSync(join(out, 'arms', arm, `seed${seed}`, 'trained.json'), 'utf8')) as { gguf: string }).gguf;
    if (!existsSync(gguf)) throw new Error(`${arm} seed ${seed}: ${gguf} is missing`);
    const server = await startModelServer({ model: gguf, port: 0, host: '127.0.0.1', unref: true, parallel: 1, contextSize: 4096, modelId: `${arm}-s${seed}` });
    try {
      const res = await nextCalls(server.baseURL, server.modelId, prefixes, synth.records, scale.eval.nextcallMaxTokens);
      const file = join(out, `eval-nextcall-${values.label}`, arm, `seed${seed}.json`);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, JSON.stringify(res, null, 2) + '\n');
      const hits = res.filter((x) => x.hit).length, wHits = res.filter((x) => x.hit && writes.has(x.id)).length;
      console.log(`${arm} seed ${seed}: ${hits}/${res.length} (write targets ${wHits}/${writes.size}); extra description in ${res.filter((x) => x.got && 'description' in (x.got.arguments as object)).length}`);
    } finally {
      await server.close();
    }
  }
}
