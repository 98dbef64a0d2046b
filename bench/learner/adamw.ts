// bench/learner/adamw.ts: AdamW alone on 135M random parameters (SmolLM2-135M's shapes, roughly),
// host placement (read the gradients back, JS adamwStep on the master copy, re-upload the weights)
// against device placement (adamwStepDevice on backend tensors). 1 warm-up + 3 timed steps.
// Run by hand:  TROUPE_TF_BACKEND=tensorflow npx tsx bench/learner/adamw.ts host|device
import { initBackend, tf } from '../../nn/backend/backend.ts';
import { adamwStep, adamwStepDevice, newAdamWState } from '../../nn/train/adamw.ts';
await initBackend();
const o = { lr: 1e-5, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, maxGradNorm: 1 };
// 135M-ish: embedding 49152x576 + 30 layers x (4 attn-ish 576x576 + 3 ffn 576x1536)
const shapes: number[][] = [[49152, 576]];
for (let l = 0; l < 30; l++) shapes.push([576, 576], [576, 192], [576, 192], [576, 576], [576, 1536], [576, 1536], [1536, 576]);
const params = new Map(shapes.map((s, i) => [`p${i}`, tf.variable(tf.randomNormal(s), false)]));
const grads = new Map(shapes.map((s, i) => [`p${i}`, tf.randomNormal(s)]));
const n = shapes.reduce((a, s) => a + s[0] * s[1], 0);
console.log(`params ${(n / 1e6).toFixed(1)}M`);
const mode = process.argv[2];
const st = newAdamWState(); const mom = { m: new Map(), v: new Map() };
const master = new Map<string, Float32Array>();
for (const [k, v] of params) master.set(k, (await v.data() as Float32Array).slice());
for (let r = 0; r < 4; r++) {
  const t0 = performance.now();
  if (mode === 'device') await adamwStepDevice(params, grads, mom, st, o);
  else {
    const host = new Map<string, Float32Array>();
    for (const [k, g] of grads) host.set(k, (await g.data() as Float32Array).slice()); // the read-back the host path needs
    const t1 = performance.now();
    adamwStep(master, host, st, o);
    const t2 = performance.now();
    for (const [k, p] of master) { const v = params.get(k)!; tf.tidy(() => v.assign(tf.tensor(p, v.shape, 'float32'))); }
    console.log(`  read ${((t1 - t0) / 1000).toFixed(2)} s, adamw ${((t2 - t1) / 1000).toFixed(2)} s, upload ${((performance.now() - t2) / 1000).toFixed(2)} s`);
  }
  console.log(`${mode} step ${r}: ${((performance.now() - t0) / 1000).toFixed(2)} s  (load ${(await import('node:os')).loadavg()[0].toFixed(1)})`);
}
