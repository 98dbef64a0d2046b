// The evolve run report: per-round curves (acceptance funnel, yield, blame mix, tokens per accepted
// dialogue) as SVG line charts, and a markdown page with the decision of every round, its numbers,
// and the diff of each promoted revision.
import { lineChartSvg, type Series } from '../svg-chart.ts';
import type { RoundRecord } from '../../../actors/evolver/steps.ts';

export interface EvolveInfo {
  sessionId: string;
  domain: string;
  rounds: number;
  plans: number;
  tasksPerPlan: number;
  validationSize: number;
  evolve: boolean;
  models: Record<string, string>;
  startedAt: number;
  endedAt: number;
  error?: string;
}

const yieldOf = (passed: number, items: number) => (items ? passed / items : 0);

export function tokensPerAccepted(r: RoundRecord): number | null {
  const s = r.production.summary;
  return s.dialoguePassed ? (s.tokens.prompt + s.tokens.completion) / s.dialoguePassed : null;
}

export const FUNNEL_STAGES: [string, (s: RoundRecord['production']['summary']) => number][] = [
  ['proposed', (s) => s.proposed],
  ['accepted by critic', (s) => s.acceptedByCritic],
  ['checker validated', (s) => s.checkerValidated],
  ['dialogue played', (s) => s.dialoguesPlayed],
  ['dialogue passed', (s) => s.dialoguePassed],
];

/** The charts, by file name. */
export function evolveCharts(rounds: RoundRecord[], title: string): Record<string, string> {
  const pts = (f: (r: RoundRecord) => number | null | undefined) => rounds.flatMap((r) => (f(r) == null ? [] : [{ x: r.round, y: f(r) as number }]));
  const yieldSeries: Series[] = [
    { name: 'production yield', points: pts((r) => yieldOf(r.production.summary.dialoguePassed, r.production.summary.items)) },
    { name: 'validation: current', points: pts((r) => r.validation && yieldOf(r.validation.current.outcome.accepted, r.validation.current.outcome.proposed)) },
    { name: 'validation: candidate', points: pts((r) => r.validation && yieldOf(r.validation.candidate.outcome.accepted, r.validation.candidate.outcome.proposed)) },
  ].filter((s) => s.points.length);
  const funnel: Series[] = FUNNEL_STAGES.map(([name, f]) => ({ name, points: pts((r) => f(r.production.summary)) }));
  const roles = [...new Set(rounds.flatMap((r) => Object.keys(r.failures.byRole)))].sort();
  const blame: Series[] = roles.map((role) => ({ name: `failures → ${role}`, points: pts((r) => r.failures.byRole[role] ?? 0) }));
  const dialogueBlame = [...new Set(rounds.flatMap((r) => Object.keys(r.production.summary.blame)))].sort();
  for (const b of dialogueBlame) blame.push({ name: `dialogue blame: ${b}`, points: pts((r) => r.production.summary.blame[b] ?? 0) });
  return {
    'yield.svg': lineChartSvg(`${title}: yield per round`, yieldSeries, { xLabel: 'round', yLabel: 'passed / items' }),
    'funnel.svg': lineChartSvg(`${title}: acceptance funnel per round`, funnel, { xLabel: 'round', yLabel: 'items' }),
    'blame.svg': lineChartSvg(`${title}: failures per round`, blame.length ? blame : [{ name: '(no failures)', points: pts(() => 0) }], { xLabel: 'round', yLabel: 'failures' }),
    'tokens.svg': lineChartSvg(`${title}: model tokens per accepted dialogue`, [{ name: 'tokens / passed dialogue', points: pts(tokensPerAccepted) }], { xLabel: 'round', yLabel: 'tokens' }),
  };
}

/** The round table's "proposal" cell: what kind of revision was proposed (and, for parameters, the key). */
export function proposalLabel(r: RoundRecord): string {
  if (!r.candidate) return '-';
  return r.candidate.kind === 'params' ? `params (${r.candidate.key})` : 'instructions';
}

const candidateLabel = (r: RoundRecord) => (r.candidate?.kind === 'params' ? `candidate.params-${r.target}` : `candidate.${r.target}`);

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

export function evolveReportMarkdown(info: EvolveInfo, rounds: RoundRecord[]): string {
  const secs = Math.round((info.endedAt - info.startedAt) / 1000);
  const L: string[] = [
    `# Evolve run ${info.sessionId}`,
    '',
    `Domain **${info.domain}**, ${rounds.length}/${info.rounds} round(s); production ${info.plans} plan(s) × ${info.tasksPerPlan} task(s) per round; ` +
      `validation ${info.validationSize} item(s) per arm; ${info.evolve ? 'evolver on' : '**baseline: evolver off**'}; ${secs} s.` +
      (info.error ? `\n\n**Stopped early: ${info.error}**` : ''),
    '',
    '![yield](yield.svg)',
    '',
    '![funnel](funnel.svg)',
    '',
    '![failures](blame.svg)',
    '',
    '![tokens](tokens.svg)',
    '',
    '## Per round',
    '',
    '| round | items | proposed | critic ok | checker ok | played | passed | yield | failures | target | proposal | decision | tokens / passed |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---:|',
    ...rounds.map((r) => {
      const s = r.production.summary;
      const t = tokensPerAccepted(r);
      return `| ${r.round} | ${s.items} | ${s.proposed} | ${s.acceptedByCritic} | ${s.checkerValidated} | ${s.dialoguesPlayed} | ${s.dialoguePassed} | ${pct(yieldOf(s.dialoguePassed, s.items))} | ${r.failures.total} | ${r.target ?? '-'} | ${proposalLabel(r)} | ${r.outcome} | ${t == null ? '-' : Math.round(t)} |`;
    }),
    '',
    '## Decisions',
    '',
  ];
  for (const r of rounds) {
    L.push(`### Round ${r.round}: ${r.outcome}${r.target ? ` (${r.target})` : ''}`, '');
    L.push(`Production run \`${r.production.runId}\` (${r.production.seconds} s${r.production.complete ? '' : ', incomplete'}). Failures by kind: ` + (r.failures.groups.map((g) => `${g.kind} → ${g.role ?? '-'}: ${g.count}`).join('; ') || 'none') + '.', '');
    if (r.candidate) L.push(`${r.candidate.kind === 'params' ? `Parameters candidate (rule: ${r.candidate.rule ?? '-'})` : 'Instructions candidate'} \`${candidateLabel(r)}@${r.candidate.revision}\` (parent \`${r.candidate.key ?? r.target}@${r.candidate.parent}\`${r.candidate.kind === 'params' ? '' : `, ${r.candidate.attempts} attempt(s)`}) addresses ${r.candidate.addresses.map((a) => `\`${a}\``).join(', ')}. Rationale: ${r.candidate.rationale}`, '');
    if (r.reflectProblems?.length) L.push(`Rejected answers of the evolver's model: ${r.reflectProblems.map((p) => p.slice(0, 200)).join(' | ')}`, '');
    if (r.validation && r.decision) {
      L.push('| arm | run | revision | passed / items | checkers discriminating / tested |', '|---|---|---:|---:|---:|');
      for (const [arm, v] of [['current', r.validation.current], ['candidate', r.validation.candidate]] as const) {
        L.push(`| ${arm} | \`${v.runId}\` | ${v.revision} | ${v.outcome.accepted}/${v.outcome.proposed} | ${v.outcome.checkersDiscriminating}/${v.outcome.checkersTested} |`);
      }
      L.push('');
      for (const m of r.decision.metrics) L.push(`- ${m.why} → ${!m.measured ? 'not measured' : !m.ok ? 'worse' : m.better ? 'net win' : 'no net win'}`);
      L.push('');
    }
    L.push(`Decision: ${r.reason}`, '');
    for (const x of r.restored ?? []) L.push(`Restored the archive's best ${x.role} revision @${x.from} as @${x.revision} (the live one had fallen clearly behind).`, '');
    if (r.promotedDiff) L.push(r.kind === 'params' ? 'Promoted parameters (JSON diff):' : 'Promoted revision:', '', '```diff', r.promotedDiff.trimEnd(), '```', '');
  }
  L.push('## Models', '', '| role | model |', '|---|---|', ...Object.entries(info.models).map(([k, v]) => `| ${k} | ${v} |`), '');
  return L.join('\n');
}
