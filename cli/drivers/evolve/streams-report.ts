// The plan-streams report: per stream and per round the yield, the blame mix, the kinds of task, the
// rewrite proposed and the paired decision, the diff of each kept rewrite, and the spread of the
// streams' plans (pairwise signature distances) at the start and at the end.
import type { StreamRoundRecord } from '../../../actors/evolver/stream-machine.ts';
import type { PlanPair } from '../../../actors/evolver/streams.ts';
import { pairwiseDistances, type ToolEntities } from '../../../actors/kit/plan-signature.ts';
import { lineChartSvg } from '../svg-chart.ts';

export interface StreamsInfo {
  sessionId: string;
  domain: string;
  rounds: number;
  tasksPerPlan: number;
  validationSize: number;
  evolve: boolean;
  alpha: number;
  seed: number;
  models: Record<string, string>;
  startedAt: number;
  endedAt: number;
  error?: string;
}

const planLine = (p: PlanPair) => `${p.synthesis.taskKind ?? 'write'}/${p.synthesis.tier}/${p.synthesis.userStyle}: ${p.synthesis.toolPatterns.join(', ')}`;
const kindsLine = (k: Record<string, number | undefined>) => Object.entries(k).map(([a, b]) => `${a} ${b}`).join(', ') || '-';

export function distanceSummary(xs: number[]): string {
  if (!xs.length) return '(one stream: no pair)';
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * (s.length - 1)))];
  return `n=${s.length}, min ${s[0].toFixed(3)}, median ${q(0.5).toFixed(3)}, max ${s[s.length - 1].toFixed(3)}`;
}

export function streamsReportMarkdown(info: StreamsInfo, records: StreamRoundRecord[], finalPairs: PlanPair[], entities: ToolEntities): string {
  const L: string[] = [];
  L.push(`# Plan streams ${info.sessionId} (${info.domain})`, '');
  L.push(`${records[0]?.streams.length ?? 0} stream(s) × ${info.rounds} round(s), ${info.tasksPerPlan} item(s) per stream per round, validation ${info.validationSize} per stream per arm, evolution ${info.evolve ? `on (McNemar exact, drop iff p(worse) ≤ α = ${info.alpha}; ties keep)` : 'off (baseline)'}, seed ${info.seed}, ${Math.round((info.endedAt - info.startedAt) / 1000)} s.`, '');
  if (info.error) L.push(`**Stopped:** ${info.error}`, '');
  const start = records[0]?.streams.map((s) => s.pair) ?? [];
  L.push('## Plan spread (pairwise structural signature distance)', '', `- start: ${distanceSummary(pairwiseDistances(start.map((p) => p.synthesis), entities))}`, `- end: ${distanceSummary(pairwiseDistances(finalPairs.map((p) => p.synthesis), entities))}`, '');
  L.push('## Per round', '', '| round | passed / items | kinds of task | blame task / trajectory / user / none |', '|---:|---:|---|---|');
  for (const r of records) {
    const sum = (f: (s: StreamRoundRecord['streams'][number]) => number) => r.streams.reduce((a, s) => a + f(s), 0);
    const kinds: Record<string, number> = {};
    for (const s of r.streams) for (const [k, v] of Object.entries(s.kinds)) kinds[k] = (kinds[k] ?? 0) + (v ?? 0);
    L.push(`| ${r.round} | ${sum((s) => s.passed)}/${sum((s) => s.items)} | ${kindsLine(kinds)} | ${sum((s) => s.blame.task)} / ${sum((s) => s.blame.trajectory)} / ${sum((s) => s.blame.user)} / ${sum((s) => s.blame.none)} |`);
  }
  L.push('', '## Per stream and round', '', '| round | stream | plan (kind/tier/style: patterns) | passed / items | blame t/tr/u/n | kinds | failure kinds | rewrite | validation current → candidate | decision |', '|---:|---:|---|---:|---|---|---|---|---|---|');
  for (const r of records) {
    for (const s of r.streams) {
      const w = s.rewrite;
      const val = w?.current && w.candidate ? `${w.current.passed}/${w.current.items} → ${w.candidate.passed}/${w.candidate.items}` : '-';
      const dec = w?.decision ? `${w.kept ? 'kept' : 'dropped'} (won ${w.decision.counts.wins}, lost ${w.decision.counts.losses}, p(worse) ${w.decision.pWorse.toFixed(3)})` : s.noRewrite ? `no rewrite: ${s.noRewrite}` : '-';
      L.push(`| ${r.round} | ${s.stream} | ${planLine(s.pair)} | ${s.passed}/${s.items} | ${s.blame.task}/${s.blame.trajectory}/${s.blame.user}/${s.blame.none} | ${kindsLine(s.kinds)} | ${kindsLine(s.failureKinds)} | ${w ? w.moves.join('; ') : '-'} | ${val} | ${dec} |`);
    }
  }
  L.push('');
  const kept = records.flatMap((r) => r.streams.filter((s) => s.rewrite?.kept).map((s) => ({ r, s })));
  L.push('## Kept rewrites', '');
  if (!kept.length) L.push('(none)', '');
  for (const { r, s } of kept) {
    L.push(`### Round ${r.round}, stream ${s.stream} → plan library revision ${s.rewrite!.libraryRevision}`, '', `Why: ${s.rewrite!.rationale}. Answers ${s.rewrite!.addresses.length} failure(s). Decision: ${s.rewrite!.decision?.why ?? '-'}`, '', '```diff', (s.rewrite!.diff ?? '').trimEnd(), '```', '');
  }
  L.push('## Models', '', '| role | model |', '|---|---|', ...Object.entries(info.models).map(([k, v]) => `| ${k} | ${v} |`), '');
  return L.join('\n');
}

/** Yield per round, one line per stream and the total. */
export function streamsYieldSvg(records: StreamRoundRecord[], title: string): string {
  const n = records[0]?.streams.length ?? 0;
  const series = Array.from({ length: n }, (_, i) => ({ name: `stream ${i}`, points: records.map((r) => ({ x: r.round, y: r.streams[i].items ? r.streams[i].passed / r.streams[i].items : 0 })) }));
  series.push({ name: 'all', points: records.map((r) => ({ x: r.round, y: r.streams.reduce((a, s) => a + s.passed, 0) / Math.max(1, r.streams.reduce((a, s) => a + s.items, 0)) })) });
  return lineChartSvg(title, series, { xLabel: 'round', yLabel: 'passed / items' });
}
