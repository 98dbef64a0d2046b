// bench/learner/table.ts: the issue-13 table in one run — one 135M update (full and LoRA r=8) at
// 1k, 4k and 8k tokens on TF.js native (1 and 2 threads), TF.js wasm (1 thread) and PyTorch CPU (1 and 2
// threads; `torchN` plain, `torchNr` with per-block activation checkpointing, which is what the TF.js
// learner does from 512 tokens), with each TF.js row's ratio to PyTorch at the same thread count.
// Each cell is its own process (bench.ts or torch_step.py): a wasm heap that runs out aborts only its cell,
// and no cell inherits another's allocator state. Cells run one after the other, shortest first.
// Run by hand (needs about an hour of otherwise idle cores):
//   TORCH_PYTHON=/tmp/torchvenv/bin/python npx tsx bench/learner/table.ts [--seqs 1024,4096,8192] [--report]
//       [--engines native1,native2,wasm,torch1,torch2] [--modes full,lora] [--out bench/results/learner-table]
// Writes <out>.json (every cell, also the failed ones with their reason) and <out>.md (the table).
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadavg } from 'node:os';

const { values } = parseArgs({ options: {
  seqs: { type: 'string', default: '1024,4096,8192' },
  engines: { type: 'string', default: 'torch1,torch2,torch1r,torch2r,native1,native2,wasm' },
  modes: { type: 'string', default: 'full,lora' },
  out: { type: 'string', default: 'bench/results/learner-table' },
  'timeout-min': { type: 'string', default: '40' },
  report: { type: 'boolean', default: false }, // only rewrite <out>.md from <out>.json
} });
const seqs = values.seqs.split(',').map(Number);
const engines = values.engines.split(',');
const modes = values.modes.split(',') as ('full' | 'lora')[];
const timeout = Number(values['timeout-min']) * 60_000;
const WARMUP = 128; // untimed warm-up length: warms kernels and pools without a second long update

interface Cell { engine: string; threads: number; seq: number; mode: 'full' | 'lora'; ok: boolean; tokensPerSec?: number; stepSeconds?: number; peakRssMiB?: number; error?: string; wallSeconds: number; load: [number, number] }
const cells: Cell[] = existsSync(`${values.out}.json`) ? (JSON.parse(readFileSync(`${values.out}.json`, 'utf8')) as { cells: Cell[] }).cells : [];
const done = (e: string, s: number, m: string) => cells.some((c) => c.engine === e && c.seq === s && c.mode === m && c.ok);
mkdirSync(dirname(values.out), { recursive: true });
const log = (s: string) => console.log(`[learner table ${new Date().toISOString().slice(11, 19)}] ${s}`);

const threadsOf = (engine: string) => (engine === 'wasm' ? 1 : Number(engine.replace(/r$/, '').slice(-1)));

function runCell(engine: string, seq: number, mode: 'full' | 'lora'): Cell {
  const threads = threadsOf(engine);
  const load0 = loadavg()[0];
  const t0 = performance.now();
  const tmp = `${values.out}.cell.json`;
  rmSync(tmp, { force: true });
  let res;
  if (engine.startsWith('torch')) {
    const py = process.env.TORCH_PYTHON;
    if (!py) throw new Error('TORCH_PYTHON is not set: point it at a Python with torch (see bench/README.md)');
    res = spawnSync(py, ['bench/learner/torch_step.py', '--seq', String(seq), '--batch', '1', '--steps', '1', '--threads', String(threads), '--warmup-seq', String(WARMUP), ...(mode === 'lora' ? ['--lora'] : []), ...(engine.endsWith('r') ? ['--recompute'] : [])], { encoding: 'utf8', timeout });
  } else {
    // Native: TensorFlow's own pools, sized by the C runtime's environment variables.
    const env = { ...process.env, TORCH_PYTHON: '', TROUPE_TF_BACKEND: engine === 'wasm' ? 'wasm' : 'tensorflow', TROUPE_QUIET_BACKEND: '1', ...(engine === 'wasm' ? {} : { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' }) };
    res = spawnSync(process.execPath, ['--import', 'tsx', 'bench/learner/bench.ts', '--seq', String(seq), '--batch', '1', '--steps', '1', '--workers', '1', '--only', mode === 'lora' ? 'LoRA' : 'full', '--warmup-seq', String(WARMUP), '--json', tmp], { encoding: 'utf8', timeout, env });
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const load: [number, number] = [load0, loadavg()[0]];
  const base = { engine, threads, seq, mode, wallSeconds, load };
  const why = res.error ? res.error.message : res.signal ? `killed by ${res.signal}` : res.status !== 0 ? `exit ${res.status}` : '';
  if (why) {
    const tail = `${res.stderr ?? ''}\n${res.stdout ?? ''}`.trim().split('\n').filter((l) => /error|abort|memory|OOM|RangeError/i.test(l)).slice(-2).join(' / ');
    return { ...base, ok: false, error: `${why}${tail ? `: ${tail.slice(0, 300)}` : ''}` };
  }
  if (engine.startsWith('torch')) {
    const row = JSON.parse(res.stdout.trim().split('\n').pop()!) as { tokensPerSec: number; stepSeconds: number; peakRssMiB: number };
    return { ...base, ok: true, tokensPerSec: row.tokensPerSec, stepSeconds: row.stepSeconds, peakRssMiB: row.peakRssMiB };
  }
  const row = (JSON.parse(readFileSync(tmp, 'utf8')) as { rows: { tokensPerSec: number; stepSeconds: number; peakRssMiB: number }[] }).rows[0];
  return { ...base, ok: true, tokensPerSec: row.tokensPerSec, stepSeconds: row.stepSeconds, peakRssMiB: row.peakRssMiB };
}

function write(): void {
  writeFileSync(`${values.out}.json`, JSON.stringify({ warmupSeq: WARMUP, cells }, null, 2));
  const torch = (engine: string, seq: number, mode: string) => cells.find((c) => c.ok && c.engine === engine && c.seq === seq && c.mode === mode);
  const name: Record<string, string> = { native1: 'TF.js native', native2: 'TF.js native', wasm: 'TF.js wasm', torch1: 'PyTorch CPU', torch2: 'PyTorch CPU', torch1r: 'PyTorch CPU, checkpointed', torch2r: 'PyTorch CPU, checkpointed' };
  const lines = ['| tokens | config | engine | threads | tokens/s | update s | peak RSS MiB | × PyTorch (same threads) | × PyTorch checkpointed | load 1-min (start→end) |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const seq of seqs) for (const mode of modes) for (const e of engines) {
    const c = cells.find((x) => x.engine === e && x.seq === seq && x.mode === mode);
    if (!c) continue;
    const vs = (t: Cell | undefined) => (c.ok && t && !e.startsWith('torch') ? `${(c.tokensPerSec! / t.tokensPerSec!).toFixed(2)}×` : '');
    const ratio = `${vs(torch(`torch${c.threads}`, seq, mode))} | ${vs(torch(`torch${c.threads}r`, seq, mode))}`;
    const cfg = mode === 'lora' ? 'LoRA r=8' : 'full';
    const ld = `${c.load[0].toFixed(1)}→${c.load[1].toFixed(1)}`;
    lines.push(c.ok
      ? `| ${seq} | ${cfg} | ${name[e]} | ${c.threads} | ${c.tokensPerSec!.toFixed(1)} | ${c.stepSeconds!.toFixed(1)} | ${c.peakRssMiB!.toFixed(0)} | ${ratio} | ${ld} |`
      : `| ${seq} | ${cfg} | ${name[e]} | ${c.threads} | failed: ${c.error} | | | | | ${ld} |`);
  }
  writeFileSync(`${values.out}.md`, `${lines.join('\n')}\n`);
}

for (const seq of values.report ? [] : seqs) for (const mode of modes) for (const e of engines) {
  if (done(e, seq, mode)) { log(`${e} ${mode} ${seq}: kept from ${values.out}.json`); continue; }
  // wasm's 4 GiB heap: a cell that fails at a shorter length fails longer ones too; say so instead of spending the time.
  const shorter = cells.find((c) => c.engine === e && c.mode === mode && c.seq < seq && !c.ok && /memory|abort|heap/i.test(c.error ?? ''));
  const idx = cells.findIndex((c) => c.engine === e && c.seq === seq && c.mode === mode);
  const cell: Cell = shorter
    ? { engine: e, threads: threadsOf(e), seq, mode, ok: false, error: `not run: out of memory already at ${shorter.seq} tokens`, wallSeconds: 0, load: [loadavg()[0], loadavg()[0]] }
    : (log(`${e} ${mode} ${seq} tokens …`), runCell(e, seq, mode));
  if (idx >= 0) cells[idx] = cell; else cells.push(cell);
  log(cell.ok ? `${e} ${mode} ${seq}: ${cell.tokensPerSec!.toFixed(1)} tokens/s (update ${cell.stepSeconds!.toFixed(1)} s, rss ${cell.peakRssMiB!.toFixed(0)} MiB, wall ${cell.wallSeconds.toFixed(0)} s)` : `${e} ${mode} ${seq}: FAILED ${cell.error}`);
  write();
}
write();
console.log(readFileSync(`${values.out}.md`, 'utf8'));
