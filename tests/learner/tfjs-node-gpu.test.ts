// The GPU route of the native backend (@tensorflow/tfjs-node-gpu, `npm run setup:gpu`):
// - always: how the learner reports the device (GPU vs the CPU fallback) and when the automatic
//   choice skips tensorflow-gpu, on fakes; the installer's CUDA wheel pins against tensorflow
//   2.18.1's `and-cuda` requirements;
// - where the GPU addon is installed (3.6 GB; not in CI): forced tensorflow-gpu starts, reports its
//   device honestly (on a machine without a GPU: the CPU fallback), and a matmul and the gradients of
//   a tiny Llama agree with the plain JS cpu and the wasm backends. This file runs in its own process
//   (vitest forks per file), so tfjs-node-gpu never meets tfjs-node here.
import { describe, it, expect, afterAll, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { activeBackend, deviceOf, describeBackend, describeDevice, gpuUnavailable, initBackend, NVIDIA_DRIVER_FILES, tf, useBackend } from '../../nn/backend/backend.ts';
import { initParams, type LlamaConfig, type LlamaModel } from '../../nn/model/llama.ts';
import { computeGradients, sftLoss } from '../../nn/train/step.ts';
import { makeRng } from '../../nn/model/sample.ts';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = readFileSync(join(root, 'scripts/install-tfjs-node.sh'), 'utf8');

describe('device reporting (fakes)', () => {
  it('skips tensorflow-gpu in the automatic choice only when no NVIDIA driver is visible', () => {
    expect(gpuUnavailable(() => false)).toBe(`no NVIDIA driver (none of ${NVIDIA_DRIVER_FILES.join(', ')})`);
    expect(gpuUnavailable((p) => p === '/dev/nvidiactl')).toBeUndefined();
    expect(gpuUnavailable((p) => p === '/proc/driver/nvidia/version')).toBeUndefined();
  });

  it('says GPU only when TensorFlow listed a GPU device, and spells out the CPU fallback', () => {
    expect(deviceOf('tensorflow-gpu', { isUsingGpuDevice: true })).toBe('gpu');
    expect(deviceOf('tensorflow-gpu', { isUsingGpuDevice: false })).toBe('cpu');
    expect(deviceOf('tensorflow-gpu', {})).toBe('cpu');
    expect(deviceOf('tensorflow-gpu', undefined)).toBe('cpu');
    expect(deviceOf('tensorflow', { isUsingGpuDevice: true })).toBe('cpu'); // the CPU package never runs on a GPU
    expect(deviceOf('wasm', undefined)).toBe('cpu');
    expect(describeDevice({ name: 'tensorflow-gpu', device: 'gpu' })).toBe('GPU');
    expect(describeDevice({ name: 'tensorflow-gpu', device: 'cpu' })).toMatch(/^CPU \(fallback: TensorFlow found no usable GPU/);
    expect(describeDevice({ name: 'tensorflow', device: 'cpu' })).toBe('CPU');
    expect(describeBackend({ name: 'tensorflow-gpu', forced: true, skipped: [], device: 'cpu' })).toMatch(/^tfjs backend: tensorflow-gpu device=CPU \(fallback: .*\(forced\)$/);
    expect(describeBackend({ name: 'tensorflow', forced: false, skipped: ['tensorflow-gpu: no NVIDIA driver (x)'], device: 'cpu' }))
      .toBe('tfjs backend: tensorflow device=CPU (skipped: tensorflow-gpu: no NVIDIA driver (x))');
  });
});

/** The `and-cuda` extra of tensorflow 2.18.1 (its wheel's METADATA, Requires-Dist). */
const AND_CUDA = {
  'nvidia-cublas-cu12': '12.5.3.2', 'nvidia-cuda-cupti-cu12': '12.5.82', 'nvidia-cuda-nvcc-cu12': '12.5.82',
  'nvidia-cuda-nvrtc-cu12': '12.5.82', 'nvidia-cuda-runtime-cu12': '12.5.82', 'nvidia-cudnn-cu12': '9.3.0.75',
  'nvidia-cufft-cu12': '11.2.3.61', 'nvidia-curand-cu12': '10.3.6.82', 'nvidia-cusolver-cu12': '11.6.3.83',
  'nvidia-cusparse-cu12': '12.5.1.3', 'nvidia-nccl-cu12': '2.21.5', 'nvidia-nvjitlink-cu12': '12.5.82',
};

/** The installer's CUDA_WHEELS table: `dist==version file sha256` per line. */
function cudaPins(text: string): { dist: string; version: string; file: string; sha256: string }[] {
  const m = /^CUDA_WHEELS="\n([^"]*)"$/m.exec(text);
  if (!m) throw new Error('no CUDA_WHEELS="…" block in the installer');
  return m[1]!.split('\n').filter((l) => l.trim()).map((l) => {
    const [req, file, sha256, extra] = l.trim().split(/\s+/);
    const [dist, version] = (req ?? '').split('==');
    if (!dist || !version || !file || !sha256 || extra) throw new Error(`bad CUDA_WHEELS line: ${l}`);
    return { dist, version, file, sha256 };
  });
}

describe('the installer\'s CUDA 12 wheel pins', () => {
  const pins = cudaPins(script);

  it('are exactly the and-cuda pins of tensorflow 2.18.1, each with its wheel file and SHA-256', () => {
    expect(Object.fromEntries(pins.map((p) => [p.dist, p.version]))).toEqual(AND_CUDA);
    for (const p of pins) {
      expect(p.file.startsWith(`${p.dist.replaceAll('-', '_')}-${p.version}-py3-none-manylinux`), p.file).toBe(true);
      expect(p.sha256, p.dist).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(script).toMatch(/TF_DIST=tensorflow\n\s+TF_WHEEL=tensorflow-\$\{TF_WHEEL_VERSION\}-cp311/);
    expect(script).toMatch(/^TF_WHEEL_VERSION=2\.18\.1$/m);
  });

  // The wheel itself is in the cache only where `npm run setup:gpu` ran.
  const cacheRoot = process.env.TROUPE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'troupe');
  const wheel = join(cacheRoot, 'tfjs-node-gpu-4.22.0-tf2.18.1', 'tensorflow-2.18.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl');
  it.skipIf(!existsSync(wheel))(`match the wheel's own METADATA${existsSync(wheel) ? '' : ' (skipped: no cached tensorflow 2.18.1 wheel; npm run setup:gpu downloads it)'}`, () => {
    const meta = execFileSync('unzip', ['-p', wheel, 'tensorflow-2.18.1.dist-info/METADATA'], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const req = [...meta.matchAll(/^Requires-Dist: (\S+) ==(\S+) ; extra == 'and-cuda'$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(req)).toEqual(AND_CUDA);
  });
});

const addon = join(root, 'node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v8/tfjs_binding.node');
const haveAddon = existsSync(addon);
if (!haveAddon) console.warn(`[tfjs-node-gpu.test] the GPU addon is not installed (${addon} missing): its tests are skipped; npm run setup:gpu installs it`);

describe.skipIf(!haveAddon)(`tfjs-node-gpu${haveAddon ? '' : ' (skipped: addon not installed; npm run setup:gpu)'}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-node-gpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts when forced and reports its device: the GPU, or (no driver) the CPU fallback', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    delete process.env.TROUPE_QUIET_BACKEND;
    const choice = await initBackend('tensorflow-gpu');
    const logged = err.mock.calls.map((c) => String(c[0])).join('\n');
    err.mockRestore();
    expect(choice).toMatchObject({ name: 'tensorflow-gpu', forced: true });
    expect(activeBackend()).toBe('tensorflow-gpu');
    const b = tf.backend() as unknown as { isGPUPackage: boolean; isUsingGpuDevice: boolean };
    expect(b.isGPUPackage).toBe(true);
    expect(choice.device).toBe(b.isUsingGpuDevice ? 'gpu' : 'cpu');
    if (gpuUnavailable()) expect(choice.device).toBe('cpu');
    expect(logged).toContain(`[learner] tfjs backend: tensorflow-gpu device=${describeDevice(choice)} (forced)`);
  });

  it('a matmul and its gradient agree with the plain JS cpu backend', async () => {
    const r = makeRng(3);
    const a = Array.from({ length: 64 * 48 }, () => r() * 2 - 1), w = Array.from({ length: 48 * 32 }, () => r() * 2 - 1);
    const run = async () => {
      const x = tf.tensor2d(a, [64, 48]), y = tf.tensor2d(w, [48, 32]);
      const f = (p: tf.Tensor) => tf.sum(tf.tanh(tf.matMul(x, p)));
      const out = await tf.matMul(x, y).data();
      const g = await tf.grad(f)(y).data();
      tf.dispose([x, y]);
      return { out, g };
    };
    await useBackend('tensorflow-gpu');
    const gpu = await run();
    await useBackend('cpu');
    const cpu = await run();
    const maxDiff = (p: ArrayLike<number>, q: ArrayLike<number>) => { let m = 0; for (let i = 0; i < p.length; i++) m = Math.max(m, Math.abs(p[i]! - q[i]!)); return m; };
    expect(maxDiff(gpu.out, cpu.out)).toBeLessThan(1e-4);
    expect(maxDiff(gpu.g, cpu.g)).toBeLessThan(1e-4);
    expect(maxDiff(cpu.g, new Float32Array(cpu.g.length))).toBeGreaterThan(1); // not vacuous
  });

  it('gives the gradients of a tiny Llama that wasm gives', async () => {
    const cfg: LlamaConfig = { vocabSize: 29, dim: 16, nLayers: 2, nHeads: 4, nKvHeads: 2, headDim: 4, ffnDim: 24, ropeBase: 10000, normEps: 1e-5, tiedEmbeddings: true, contextLength: 32 };
    const r = makeRng(1);
    const rows = (f: () => number) => Array.from({ length: 2 }, () => Array.from({ length: 12 }, f));
    const b = { inputs: rows(() => Math.floor(r() * 29)), targets: rows(() => Math.floor(r() * 29)), mask: rows(() => (r() < 0.7 ? 1 : 0)) };
    const grads = async (backend: 'tensorflow-gpu' | 'wasm') => {
      await useBackend(backend);
      const model: LlamaModel = { config: cfg, params: initParams(cfg, 5) };
      for (const [n, v] of model.params) if (!n.endsWith('norm.weight')) v.assign(tf.mul(v, 8));
      const out = await computeGradients(model, () => ({ loss: sftLoss(model, b) }));
      for (const v of model.params.values()) v.dispose();
      return out;
    };
    const g = await grads('tensorflow-gpu'), w = await grads('wasm');
    expect(Math.abs(g.loss - w.loss)).toBeLessThan(1e-5 * (1 + Math.abs(g.loss)));
    let maxAbs = 0, maxDiff = 0;
    for (const [n, ga] of g.grads) {
      const gw = w.grads.get(n)!;
      for (let i = 0; i < ga.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(ga[i]!)); maxDiff = Math.max(maxDiff, Math.abs(ga[i]! - gw[i]!)); }
    }
    expect(maxAbs).toBeGreaterThan(1e-2);
    expect(maxDiff / maxAbs).toBeLessThan(2e-5);
  });

  it('train.backend = "tensorflow-gpu" puts the device in the run report', async () => {
    const out = join(dir, 'run');
    const rep = await runTraining('grpo', parseTrainConfig(`[train]\nsteps = 1\nbackend = "tensorflow-gpu"\n[grpo]\ngroupsPerStep = 1\nmaxAttempts = 2\n[output]\ndir = "${out}"\nexport = []\n`, 'g.toml'), { quiet: true });
    const device = describeDevice({ name: 'tensorflow-gpu', device: (tf.backend() as unknown as { isUsingGpuDevice: boolean }).isUsingGpuDevice ? 'gpu' : 'cpu' });
    expect(rep.summary).toMatchObject({ backend: 'tensorflow-gpu', backendForced: true, backendDevice: device });
    expect(readFileSync(rep.report, 'utf8')).toContain(`| backendDevice | ${device} |`);
  });
});
