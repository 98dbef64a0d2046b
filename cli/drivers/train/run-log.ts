// A training run's files: JSONL metrics log, progress lines, and the closing report
// (markdown + SVG curves).
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg } from '../svg-chart.ts';

export type MetricRow = Record<string, unknown> & { step: number };

export class RunLog {
  readonly rows: MetricRow[] = [];
  constructor(readonly dir: string, private quiet = false) {
    mkdirSync(dir, { recursive: true });
  }
  get metricsPath() { return join(this.dir, 'metrics.jsonl'); }
  /** On resume: keeps the earlier rows up to `step` so the report covers the whole run. */
  loadPrevious(upToStep: number): void {
    if (!existsSync(this.metricsPath)) return;
    for (const line of readFileSync(this.metricsPath, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as MetricRow;
      if (row.step <= upToStep) this.rows.push(row);
    }
  }
  record(row: MetricRow, progress: string): void {
    this.rows.push(row);
    appendFileSync(this.metricsPath, JSON.stringify({ time: new Date().toISOString(), ...row }) + '\n');
    if (!this.quiet) console.log(progress);
  }
  /** Writes report.md and one SVG per curve that has data. */
  writeReport(title: string, summary: Record<string, unknown>, curves: { file: string; title: string; yLabel: string; keys: string[] }[]): string {
    const lines = [`# ${title}`, '', '| | |', '|---|---|', ...Object.entries(summary).map(([k, v]) => `| ${k} | ${typeof v === 'number' ? +v.toPrecision(4) : String(v)} |`), ''];
    for (const c of curves) {
      const series = c.keys.map((k) => ({ name: k, points: this.rows.filter((r) => typeof r[k] === 'number').map((r) => ({ x: r.step, y: r[k] as number })) })).filter((s) => s.points.length);
      if (!series.length) continue;
      writeFileSync(join(this.dir, c.file), lineChartSvg(c.title, series, { xLabel: 'step', yLabel: c.yLabel }));
      lines.push(`## ${c.title}`, '', `![${c.title}](${c.file})`, '');
    }
    lines.push(`Metrics per step: \`metrics.jsonl\` (${this.rows.length} rows).`, '');
    const p = join(this.dir, 'report.md');
    writeFileSync(p, lines.join('\n'));
    return p;
  }
}
