// The run report: markdown with the funnel and blame tables, and an SVG chart of both.
import type { FunnelSummary } from '../../../actors/kit/funnel.ts';

export interface RunInfo {
  runId: string;
  domain: string;
  plans: number;
  tasksPerPlan: number;
  startedAt: number;
  endedAt: number;
  models: Record<string, string>;
  instructions: Record<string, number>;
  complete: boolean;
}

/** n, min, quartiles and max of a list of distances. */
export function distribution(xs: readonly number[]): string {
  if (!xs.length) return 'no pair of plans';
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number) => s[Math.round(f * (s.length - 1))].toFixed(3);
  return `${s.length} pair(s): min ${q(0)}, q1 ${q(0.25)}, median ${q(0.5)}, q3 ${q(0.75)}, max ${q(1)}`;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function funnelStages(s: FunnelSummary): [string, number][] {
  return [
    ['items requested', s.items],
    ['proposed', s.proposed],
    ['accepted by critic', s.acceptedByCritic],
    ['checker validated', s.checkerValidated],
    ['dialogue played', s.dialoguesPlayed],
    ['dialogue passed', s.dialoguePassed],
  ];
}

/** Horizontal bars: the funnel on top, the blame distribution below. */
export function funnelSvg(s: FunnelSummary, title: string): string {
  const stages = funnelStages(s);
  const blame = Object.entries(s.blame);
  const width = 640;
  const left = 170;
  const barMax = width - left - 60;
  const rowH = 26;
  const max = Math.max(1, ...stages.map(([, v]) => v));
  const rows: string[] = [];
  let y = 44;
  rows.push(`<text x="10" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const [label, v] of stages) {
    const w = Math.round((v / max) * barMax);
    rows.push(`<text x="${left - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(label)}</text>`);
    rows.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(w, 1)}" height="${rowH - 8}" fill="#3b82f6"/>`);
    rows.push(`<text x="${left + w + 6}" y="${y + 16}" font-size="12">${v}</text>`);
    y += rowH;
  }
  y += 16;
  rows.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">lost where</text>`);
  y += 8;
  const lost: [string, number][] = [...Object.entries(s.dropped).map(([k, v]) => [`dropped: ${k}`, v] as [string, number]), ...blame.map(([k, v]) => [`failed, blame ${k}`, v] as [string, number])];
  if (!lost.length) lost.push(['(nothing lost)', 0]);
  const lmax = Math.max(1, ...lost.map(([, v]) => v));
  for (const [label, v] of lost) {
    const w = Math.round((v / lmax) * barMax);
    rows.push(`<text x="${left - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(label)}</text>`);
    rows.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(w, 1)}" height="${rowH - 8}" fill="${label.startsWith('failed') ? '#ef4444' : '#f59e0b'}"/>`);
    rows.push(`<text x="${left + w + 6}" y="${y + 16}" font-size="12">${v}</text>`);
    y += rowH;
  }
  const height = y + 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${rows.join('\n')}\n</svg>\n`;
}

export function reportMarkdown(info: RunInfo, s: FunnelSummary, chartFile: string): string {
  const mins = Math.max((info.endedAt - info.startedAt) / 60_000, 1e-9);
  const perMin = (n: number) => (n / mins).toFixed(2);
  const lines = [
    `# Synthesis run ${info.runId}`,
    '',
    `Domain **${info.domain}**, ${info.plans} plan(s) × ${info.tasksPerPlan} task(s) = ${s.items} item(s); ${((info.endedAt - info.startedAt) / 1000).toFixed(0)} s` +
      (info.complete ? '.' : ` — **incomplete: ${s.items - s.terminal} item(s) had not finished when the run stopped**.`),
    '',
    `![funnel](${chartFile})`,
    '',
    '## Funnel',
    '',
    '| stage | items |',
    '|---|---:|',
    ...funnelStages(s).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    `Plans: ${s.plansIssued} issued, ${s.plansRejected} rejected (non-overlap). Critic revision requests: ${s.revisionsRequested}. ` +
      `Checkers: ${Object.entries(s.checkerOrigins).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'}.`,
    '',
    `Plan spread (pairwise structural signature distance, refused below 0.25): ${distribution(s.planDistances ?? [])}. ` +
      `Kinds of task: ${Object.entries(s.taskKinds ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}. ` +
      `Exploration: ${Object.entries(s.explorers ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}.`,
    '',
    '## Where items were lost',
    '',
    '| stage | items |',
    '|---|---:|',
    ...Object.entries(s.dropped).map(([k, v]) => `| dropped at ${k} | ${v} |`),
    `| dialogue failed its checker | ${s.dialogueFailed} |`,
    '',
    '## Blame (failed dialogues)',
    '',
    '| blame | count |',
    '|---|---:|',
    ...(Object.entries(s.blame).length ? Object.entries(s.blame).map(([k, v]) => `| ${k} | ${v} |`) : ['| (none) | 0 |']),
    '',
    ...(Object.keys(s.blameKinds).length ? ['| failure kind | count |', '|---|---:|', ...Object.entries(s.blameKinds).map(([k, v]) => `| ${k} | ${v} |`), ''] : []),
    '## Rates and cost',
    '',
    `- proposed per minute: ${perMin(s.proposed)}; accepted by critic per minute: ${perMin(s.acceptedByCritic)}`,
    `- model tokens (all roles): ${s.tokens.prompt} prompt + ${s.tokens.completion} completion` +
      (s.dialoguePassed ? `; per passed dialogue: ${Math.round((s.tokens.prompt + s.tokens.completion) / s.dialoguePassed)}` : '; no passed dialogue'),
    '',
    '## Models and instructions',
    '',
    '| role | model | instructions revision |',
    '|---|---|---:|',
    ...Object.keys({ ...info.models, ...info.instructions }).map((r) => `| ${r} | ${info.models[r] ?? '-'} | ${info.instructions[r] ?? '-'} |`),
    '',
    '## Dropped items',
    '',
    ...(s.dropReasons.length ? s.dropReasons.map((d) => `- \`${d.itemId}\` at **${d.stage}**: ${d.reasons.join(' | ').slice(0, 400)}`) : ['(none)']),
    '',
    '## Failed dialogues',
    '',
    ...(s.failures.length
      ? s.failures.map((f) => `- \`${f.itemId}\` ended ${f.termination}; checker: ${f.checker.join(' | ').slice(0, 300)}; blame **${f.blame.blame}** (${f.blame.kind}): ${f.blame.reason.slice(0, 200)}`)
      : ['(none)']),
    '',
  ];
  return lines.join('\n');
}
