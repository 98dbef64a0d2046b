// From the stored evaluations to the study's numbers (results.json) and its report (markdown + SVG).
// `aggregate` and `reportMarkdown` are pure: the CI test recomputes the report from results.json and
// checks every number in it.
import { bootstrapMean, mcnemarExact, mean, pairedBootstrap, type Interval, type McNemar } from './stats.ts';
import type { ArmEval } from './pipeline.ts';

export const METRICS = ['pass1:tau2-base', 'pass1:synth-heldout', 'nextcall'] as const;
export const BOOT = { resamples: 10_000, seed: 17 };

export interface ArmMetric {
  /** Some of its evaluations did not finish: the items graded so far. */
  partial: boolean;
  /** Mean over items of the per-item mean over seeds. */
  interval: Interval;
  items: number;
  seeds: number[];
  perSeed: number[];
}

export interface Comparison {
  a: string;
  b: string;
  metric: string;
  items: number;
  pairs: number;
  diff: Interval;
  mcnemar: McNemar;
}

export interface Diagnostics {
  terminations: Record<string, number>;
  /** Failed dialogues in which the agent made no tool call at all. */
  failedWithoutToolCall: number;
  failed: number;
  nextcallKinds: Record<string, number>;
}

export interface StudyNumbers {
  metrics: Record<string, Record<string, ArmMetric>>;
  comparisons: Comparison[];
  diagnostics: Record<string, Diagnostics>;
}

type Table = Map<string, Map<number, number>>; // item → seed → 0/1

function tableOf(evals: readonly ArmEval[], metric: string, seeds: readonly number[], untrained: boolean): Table {
  const t: Table = new Map();
  for (const e of evals) {
    if (metric !== 'nextcall' && !(e.sets[metric.slice('pass1:'.length)] ?? []).length) continue;
    const rows = metric === 'nextcall' ? (e.nextcall ?? []).map((n) => [n.id, n.hit] as const) : (e.sets[metric.slice('pass1:'.length)] ?? []).map((s) => [s.taskId, s.reward] as const);
    // An untrained arm is evaluated once (greedy): its outcome stands for every seed.
    for (const s of untrained ? seeds : [e.seed]) for (const [id, v] of rows) {
      if (!t.has(id)) t.set(id, new Map());
      t.get(id)!.set(s, v);
    }
  }
  return t;
}

export function aggregate(evals: readonly ArmEval[], opts: { seeds: number[]; untrained: ReadonlySet<string>; comparisons: [string, string][] }): StudyNumbers {
  const arms = [...new Set(evals.map((e) => e.arm))];
  const tables = new Map<string, Table>();
  const metrics: StudyNumbers['metrics'] = {};
  for (const metric of METRICS) {
    metrics[metric] = {};
    for (const arm of arms) {
      const ev = evals.filter((e) => e.arm === arm);
      const t = tableOf(ev, metric, opts.seeds, opts.untrained.has(arm));
      if (!t.size) continue;
      tables.set(`${arm}|${metric}`, t);
      const seeds = [...new Set([...t.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
      // An item's value: the mean over the seeds that graded it (all of them unless an evaluation is partial).
      const perItem = [...t.values()].map((m) => mean([...m.values()]));
      metrics[metric][arm] = {
        partial: ev.some((e) => e.partial),
        interval: bootstrapMean(perItem, BOOT),
        items: t.size,
        seeds,
        perSeed: seeds.map((s) => mean([...t.values()].filter((m) => m.has(s)).map((m) => m.get(s)!))),
      };
    }
  }
  const comparisons: Comparison[] = [];
  for (const [a, b] of opts.comparisons) {
    for (const metric of METRICS) {
      const ta = tables.get(`${a}|${metric}`), tb = tables.get(`${b}|${metric}`);
      if (!ta || !tb) continue;
      // Per item: each arm's mean over its own seeds. McNemar pairs: the i-th seed of A with the i-th
      // seed of B (the same seed when both have it; GRPO seed k starts from SFT seed k); an untrained
      // arm's single greedy run is paired with every seed of the other.
      const sa = metrics[metric][a].seeds, sb = metrics[metric][b].seeds;
      const ua = opts.untrained.has(a), ub = opts.untrained.has(b);
      const n = ua && ub ? 1 : ua ? sb.length : ub ? sa.length : Math.min(sa.length, sb.length);
      const common = sa.filter((s) => sb.includes(s));
      const pairsA = ua ? Array(n).fill(sa[0]) : common.length >= n ? common.slice(0, n) : sa.slice(0, n);
      const pairsB = ub ? Array(n).fill(sb[0]) : common.length >= n ? common.slice(0, n) : sb.slice(0, n);
      const items = [...ta.keys()].filter((id) => tb.has(id));
      if (!n || !items.length) continue;
      const va = items.map((id) => mean([...ta.get(id)!.values()]));
      const vb = items.map((id) => mean([...tb.get(id)!.values()]));
      const pa: number[] = [], pb: number[] = [];
      for (const id of items) for (let i = 0; i < n; i++) {
        const x = ta.get(id)!.get(pairsA[i]), y = tb.get(id)!.get(pairsB[i]);
        if (x !== undefined && y !== undefined) { pa.push(x); pb.push(y); }
      }
      comparisons.push({ a, b, metric, items: items.length, pairs: pa.length, diff: pairedBootstrap(va, vb, BOOT), mcnemar: mcnemarExact(pa, pb) });
    }
  }
  const diagnostics: StudyNumbers['diagnostics'] = {};
  for (const arm of arms) {
    const d: Diagnostics = { terminations: {}, failedWithoutToolCall: 0, failed: 0, nextcallKinds: {} };
    for (const e of evals.filter((x) => x.arm === arm)) {
      for (const sims of Object.values(e.sets)) for (const s of sims) {
        d.terminations[s.termination] = (d.terminations[s.termination] ?? 0) + 1;
        if (!s.reward) { d.failed++; if (!s.agentToolCalls) d.failedWithoutToolCall++; }
      }
      for (const n of e.nextcall ?? []) d.nextcallKinds[n.kind] = (d.nextcallKinds[n.kind] ?? 0) + 1;
    }
    diagnostics[arm] = d;
  }
  return { metrics, comparisons, diagnostics };
}

export const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
export const fp = (p: number) => (p >= 0.001 ? p.toFixed(3) : p.toExponential(1));
export const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(3)}` : 'n/a');

/** One metric row as the report writes it (the CI test looks these up). */
export function metricRow(arm: string, m: ArmMetric): string {
  return `| ${arm}${m.partial ? ' (partial)' : ''} | ${m.items} | ${m.seeds.join(', ')} | ${f3(m.interval.estimate)} | [${f3(m.interval.lo)}, ${f3(m.interval.hi)}] | ${m.perSeed.map(f3).join(' / ')} |`;
}

export function comparisonRow(c: Comparison): string {
  return `| ${c.metric} | ${c.a} → ${c.b} | ${c.items} | ${signed(c.diff.estimate)} | [${signed(c.diff.lo)}, ${signed(c.diff.hi)}] | ${c.mcnemar.onlyA} / ${c.mcnemar.onlyB} of ${c.pairs} | ${fp(c.mcnemar.p)} |`;
}

const METRIC_TITLE: Record<string, string> = {
  'pass1:tau2-base': 'pass^1 on τ² mock `base` (held-out set 1)',
  'pass1:synth-heldout': 'pass^1 on the held-out synthesized tasks (held-out set 2)',
  nextcall: 'next-tool-call exact match on held-out prefixes',
};

/** A bar chart with 95% interval whiskers, one bar per arm. */
export function barSvg(title: string, bars: { name: string; y: number; lo: number; hi: number }[]): string {
  const W = 640, H = 300, L = 50, B = 70, T = 30, R = 10;
  const w = (W - L - R) / Math.max(1, bars.length);
  const y = (v: number) => T + (H - T - B) * (1 - Math.max(0, Math.min(1, v)));
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`, `<rect width="${W}" height="${H}" fill="white"/>`, `<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`];
  for (const t of [0, 0.25, 0.5, 0.75, 1]) parts.push(`<line x1="${L}" x2="${W - R}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 5}" y="${y(t) + 4}" text-anchor="end">${t}</text>`);
  bars.forEach((b, i) => {
    const x = L + i * w;
    if (Number.isFinite(b.y)) parts.push(`<rect x="${x + w * 0.2}" y="${y(b.y)}" width="${w * 0.6}" height="${y(0) - y(b.y)}" fill="#1f77b4"/>`);
    if (Number.isFinite(b.lo)) parts.push(`<line x1="${x + w / 2}" x2="${x + w / 2}" y1="${y(b.lo)}" y2="${y(b.hi)}" stroke="black"/><line x1="${x + w * 0.4}" x2="${x + w * 0.6}" y1="${y(b.lo)}" y2="${y(b.lo)}" stroke="black"/><line x1="${x + w * 0.4}" x2="${x + w * 0.6}" y1="${y(b.hi)}" y2="${y(b.hi)}" stroke="black"/>`);
    parts.push(`<text x="${x + w / 2}" y="${y(b.y) - 4}" text-anchor="middle">${Number.isFinite(b.y) ? b.y.toFixed(2) : 'n/a'}</text>`);
    parts.push(`<text x="${x + w / 2}" y="${H - B + 14}" text-anchor="end" transform="rotate(-30 ${x + w / 2} ${H - B + 14})">${esc(b.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

export function metricSvgs(n: StudyNumbers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const metric of METRICS) {
    const arms = Object.entries(n.metrics[metric] ?? {});
    if (!arms.length) continue;
    out[`${metric.replace(/[:]/g, '-')}.svg`] = barSvg(`${METRIC_TITLE[metric].replace(/`/g, '')} (95% bootstrap CI)`, arms.map(([name, m]) => ({ name, y: m.interval.estimate, lo: m.interval.lo, hi: m.interval.hi })));
  }
  return out;
}

export interface ReportInput {
  numbers: StudyNumbers;
  header: string[];
  /** Extra sections (synthesis, data, training, scale), already markdown. */
  sections: string[];
  svgs: string[];
}

export function reportMarkdown(r: ReportInput): string {
  const L: string[] = [...r.header, ''];
  for (const metric of METRICS) {
    const arms = Object.entries(r.numbers.metrics[metric] ?? {});
    if (!arms.length) continue;
    L.push(`### ${METRIC_TITLE[metric]}`, '', '| arm | items | seeds | mean | 95% CI (bootstrap over items) | per seed |', '|---|---:|---|---:|---|---|');
    for (const [arm, m] of arms) L.push(metricRow(arm, m));
    if (metric !== 'nextcall' && arms.some(([a]) => a.startsWith('user-'))) L.push('', 'user-base, user-sft: the gold-action (oracle) agent against that user simulator; the user-caused failure rate is 1 − pass^1.');
    L.push('');
  }
  for (const s of r.svgs) L.push(`![${s}](${s})`);
  L.push('', '### Comparisons (decided before the runs: bench/study/protocol.json)', '', 'Δ = B − A on the per-item mean over seeds; discordant = (item, seed) pairs where only A / only B passed; McNemar exact two-sided p.', '', '| metric | A → B | items | Δ | 95% CI (paired bootstrap) | discordant A only / B only | McNemar p |', '|---|---|---:|---:|---|---|---:|');
  for (const c of r.numbers.comparisons) L.push(comparisonRow(c));
  L.push('', '### Where the failures are', '', '| arm | dialogues failed | of them without any agent tool call | terminations | next-call outcomes |', '|---|---:|---:|---|---|');
  for (const [arm, d] of Object.entries(r.numbers.diagnostics)) {
    const fmt = (o: Record<string, number>) => Object.entries(o).sort().map(([k, v]) => `${k} ${v}`).join(', ') || '—';
    L.push(`| ${arm} | ${d.failed} | ${d.failedWithoutToolCall} | ${fmt(d.terminations)} | ${fmt(d.nextcallKinds)} |`);
  }
  L.push('', ...r.sections);
  return L.join('\n') + '\n';
}
