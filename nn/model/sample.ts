// Sampling from a LlamaModel without a KV cache (each step re-runs the whole prefix). Meant for
// tiny models (toy tasks, tests); real rollouts come from the model server.
import { tf } from '../backend/backend.ts';
import { forward, type LlamaModel } from './llama.ts';

/** The seeded generator (nn/model/rng.ts), here too for the samplers' callers. */
export { makeRng } from './rng.ts';

export interface SampleResult {
  /** Generated tokens per sequence. */
  tokens: number[][];
  /** Log-prob (at temperature 1) of each generated token under the model. */
  logProbs: number[][];
}

/**
 * Extends each prompt (all the same length) by `maxNew` tokens, stopping a row at `stopId`.
 * temperature 0 = greedy.
 */
export function sample(model: LlamaModel, prompts: number[][], maxNew: number, rng: () => number, temperature = 1, stopId?: number): SampleResult {
  const seqs = prompts.map((p) => [...p]);
  const out: number[][] = prompts.map(() => []);
  const lps: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  for (let step = 0; step < maxNew && done.some((d) => !d); step++) {
    const T = seqs[0].length;
    const logp = tf.tidy(() => {
      const logits = forward(model, tf.tensor2d(seqs.flat(), [seqs.length, T], 'int32'));
      const V = logits.shape[1];
      const last = logits.reshape([seqs.length, T, V]).slice([0, T - 1, 0], [seqs.length, 1, V]).reshape([seqs.length, V]);
      return tf.logSoftmax(last);
    });
    const rows = logp.arraySync() as number[][];
    logp.dispose();
    for (let b = 0; b < seqs.length; b++) {
      const row = rows[b];
      let tok: number;
      if (done[b]) tok = stopId ?? 0;
      else if (temperature <= 0) tok = row.indexOf(Math.max(...row));
      else {
        const w = row.map((x) => Math.exp(x / temperature));
        const z = w.reduce((a, c) => a + c, 0);
        let u = rng() * z;
        tok = w.length - 1;
        for (let j = 0; j < w.length; j++) { u -= w[j]; if (u <= 0) { tok = j; break; } }
      }
      seqs[b].push(tok);
      if (!done[b]) {
        out[b].push(tok);
        lps[b].push(row[tok]);
        if (stopId !== undefined && tok === stopId) done[b] = true;
      }
    }
  }
  return { tokens: out, logProbs: lps };
}
