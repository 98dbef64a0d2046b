// bench/llm: generation speed of `troupe model serve` beside node-llama-cpp called directly.
//   npx tsx bench/llm/run.ts [--model PATH] [--max-tokens 64] [--reps 3] [--threads N] [--levels 1,4,8]
// For each concurrency level, the same prompts (greedy decoding, so the same tokens) go once through
// the direct baseline and once through the server (openai SDK, streaming), alternating, `reps` times;
// medians are reported. Both run in their own child process with the same threads / sequences /
// context size, so their peak RSS is comparable.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { resolveEngineOptions } from '../../llm/server/engine.ts';
import { resolveModelPath } from '../../llm/store/catalog.ts';
import { PromptRenderer } from '../../llm/server/prompt.ts';
import { getLlama } from 'node-llama-cpp';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    'max-tokens': { type: 'string', default: '64' },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string' },
    levels: { type: 'string', default: '1,4,8' },
  },
});
const modelPath = resolveModelPath(values.model);
const maxTokens = Number(values['max-tokens']);
const reps = Number(values.reps);
const levels = values.levels!.split(',').map(Number);
const parallel = Math.max(...levels);
const ctx = 1024;
const threads = values.threads ? Number(values.threads) : resolveEngineOptions().threads;
const root = resolve(import.meta.dirname, '../..');

const questions = [
  'Explain how a bicycle gear works.',
  'Write a short story about a lighthouse keeper.',
  'What are the main causes of ocean tides?',
  'Describe the water cycle for a child.',
  'Give advice for a first job interview.',
  'Why is the sky blue?',
  'Describe a busy train station in the morning.',
  'How do bees make honey?',
];
// A fresh nonce at the very start of every prompt keeps each run cold: the server reuses the KV
// state of a matching prompt prefix, which would otherwise make repeated runs unfairly fast.
let runNonce = 0;
const messages = (i: number, nonce: number) => [
  { role: 'system' as const, content: `Session ${nonce}-${i}. You are a helpful assistant.` },
  { role: 'user' as const, content: questions[i % questions.length] },
];

// Render the prompts exactly as the server will, so both sides evaluate the same tokens.
const llamaForTemplate = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never });
const tmplModel = await llamaForTemplate.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
const renderer = new PromptRenderer((tmplModel.fileInfo.metadata as { tokenizer?: { chat_template?: string } }).tokenizer?.chat_template, {
  bos: tmplModel.tokens.bosString ?? '',
  eos: tmplModel.tokens.eosString ?? '',
});
const render = (i: number, nonce: number) => renderer.render({ messages: messages(i, nonce) } as never);
await tmplModel.dispose();

/** CPU time (user + system, all threads) a process has used so far, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in USER_HZ (100)
}

interface RunStats {
  cpuMs?: number;
  tokens: number;
  wallMs: number;
  ttftMs: number; // mean over streams
  perStreamTps: number; // mean over streams
}

function summarize(results: Array<{ tokens: number; ttftMs: number; totalMs: number }>, wallMs: number): RunStats {
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  return {
    tokens,
    wallMs,
    ttftMs: results.reduce((a, r) => a + r.ttftMs, 0) / results.length,
    perStreamTps: results.reduce((a, r) => a + (r.tokens / r.totalMs) * 1000, 0) / results.length,
  };
}

// Direct baseline process.
const direct = fork(resolve(import.meta.dirname, 'direct-worker.ts'), [modelPath, String(parallel), String(threads), String(ctx)], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
await new Promise<void>((r) => direct.once('message', () => r()));
let directPeakRss = 0;
function runDirect(c: number, nonce: number): Promise<RunStats> {
  const cpu0 = cpuMs(direct.pid!);
  return new Promise((r) => {
    direct.once('message', (m: { results: Array<{ tokens: number; ttftMs: number; totalMs: number }>; wallMs: number; peakRss: number }) => {
      directPeakRss = Math.max(directPeakRss, m.peakRss);
      r({ ...summarize(m.results, m.wallMs), cpuMs: cpuMs(direct.pid!) - cpu0 });
    });
    direct.send({ prompts: Array.from({ length: c }, (_, i) => render(i, nonce)), maxTokens });
  });
}

// Server process.
const server = spawn(
  process.execPath,
  ['bin/troupe.js', 'model', 'serve', '--model', modelPath, '--port', '0', '--parallel', String(parallel), '--ctx-size', String(ctx), '--threads', String(threads)],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
const baseURL = await new Promise<string>((r, reject) => {
  let out = '';
  server.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    const m = /OpenAI base URL: (\S+)/.exec(out);
    if (m) r(m[1]);
  });
  server.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
});
const client = new OpenAI({ baseURL, apiKey: 'x', maxRetries: 0 });

async function runServer(c: number, nonce: number): Promise<RunStats> {
  const cpu0 = cpuMs(server.pid!);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: c }, async (_, i) => {
      const stream = await client.chat.completions.create({
        model: 'local',
        messages: messages(i, nonce),
        max_tokens: maxTokens,
        temperature: 0,
        stream: true,
        stream_options: { include_usage: true },
      });
      let first = 0;
      let tokens = 0;
      for await (const chunk of stream) {
        if (!first && chunk.choices[0]?.delta.content) first = performance.now();
        if (chunk.usage) tokens = chunk.usage.completion_tokens;
      }
      return { tokens, ttftMs: first - t0, totalMs: performance.now() - t0 };
    }),
  );
  return { ...summarize(results, performance.now() - t0), cpuMs: cpuMs(server.pid!) - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[] = [];
const cpuRows: string[] = [];
console.log(`model ${modelPath}\nthreads ${threads}, sequences ${parallel}, ctx ${ctx}/seq, max_tokens ${maxTokens}, reps ${reps} (median)`);
await runDirect(1, ++runNonce); // warm-up both
await runServer(1, runNonce);
for (const c of levels) {
  const d: RunStats[] = [];
  const s: RunStats[] = [];
  for (let r = 0; r < reps; r++) {
    // Same nonce on both sides (separate processes, so both are cold): identical prompts.
    const nonce = ++runNonce;
    d.push(await runDirect(c, nonce));
    s.push(await runServer(c, nonce));
    process.stdout.write(`  c=${c} rep ${r + 1}/${reps}\r`);
  }
  const agg = (x: RunStats[]) => median(x.map((v) => (v.tokens / v.wallMs) * 1000));
  const dAgg = agg(d);
  const sAgg = agg(s);
  const cpuPerTok = (x: RunStats[]) => x.reduce((a, v) => a + v.cpuMs!, 0) / x.reduce((a, v) => a + v.tokens, 0);
  const dCpu = cpuPerTok(d);
  const sCpu = cpuPerTok(s);
  cpuRows.push(`| ${c} | ${dCpu.toFixed(2)} | ${sCpu.toFixed(2)} | ${((sCpu / dCpu - 1) * 100).toFixed(1)}% |`);
  rows.push(
    `| ${c} | ${median(d.map((v) => v.perStreamTps)).toFixed(1)} | ${median(s.map((v) => v.perStreamTps)).toFixed(1)} | ${dAgg.toFixed(1)} | ${sAgg.toFixed(1)} | ${((1 - sAgg / dAgg) * 100).toFixed(1)}% | ${median(d.map((v) => v.ttftMs)).toFixed(0)} | ${median(s.map((v) => v.ttftMs)).toFixed(0)} |`,
  );
}
// Prefix reuse: one long system prompt (as roles resend policy + tools every turn), three questions.
const policy = `You are a support agent for an airline. ${'Follow the policy carefully and verify the user identity first. '.repeat(60)}`;
const prefixRows: string[] = [];
for (const [k, q] of ['I want to cancel my flight.', 'Can I change my seat?', 'How much is a checked bag?'].entries()) {
  const t0 = performance.now();
  const r = await client.chat.completions.create({ model: 'local', messages: [{ role: 'system', content: policy }, { role: 'user', content: q }], max_tokens: 1, temperature: 0 });
  const details = (r.usage as { prompt_tokens_details?: { cached_tokens?: number } }).prompt_tokens_details;
  prefixRows.push(`| ${k === 0 ? 'first (cold)' : `turn ${k + 1}`} | ${r.usage!.prompt_tokens} | ${details?.cached_tokens ?? 0} | ${(performance.now() - t0).toFixed(0)} |`);
}

const serverRss = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
console.log('\n| concurrency | direct tok/s per stream | server tok/s per stream | direct tok/s aggregate | server tok/s aggregate | server overhead | direct TTFT ms | server TTFT ms |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\n| concurrency | direct CPU ms/token | server CPU ms/token | server CPU overhead |');
console.log('|---|---|---|---|');
for (const r of cpuRows) console.log(r);
console.log('\n| same long system prompt, new question | prompt tokens | reused (cached) tokens | server time to 1 token ms |');
console.log('|---|---|---|---|');
for (const r of prefixRows) console.log(r);
console.log(`\npeak RSS: direct process ${(directPeakRss / 2 ** 20).toFixed(0)} MiB, server process ${(serverRss / 2 ** 20).toFixed(0)} MiB`);
direct.kill();
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
process.exit(0);
