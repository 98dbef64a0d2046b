/**
 * `str(task.user_scenario)` exactly as τ² renders it for the user simulator's `<scenario>` block
 * (notes §3): optional `Persona:` block, then `Instructions:`; structured instructions list
 * Domain / Reason for call / Known info / Unknown info / Task instructions; every nested block is
 * indented with Python's `textwrap.indent(text, "\t")`.
 */
import type { Task, UserScenario } from '../../protocols/tau2/task.ts';

// Python str.splitlines(keepends=True) boundaries.
const LINE = /[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*(?:\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029])?/gu;

/** Python `textwrap.indent(text, prefix)`: prefix every line that is not whitespace-only. */
export function pyIndent(text: string, prefix: string): string {
  const lines = text.match(LINE)?.filter((l) => l.length > 0) ?? [];
  return lines.map((l) => (isPyWhitespace(l) ? l : prefix + l)).join('');
}

function isPyWhitespace(s: string): boolean {
  // str.strip() removes Unicode whitespace; a line is skipped when nothing else remains.
  return /^[\s\x1c-\x1f\x85]*$/u.test(s.replace(/\uFEFF/g, 'x'));
}

export function renderInstructions(instr: UserScenario['instructions']): string {
  if (typeof instr === 'string') return instr;
  const lines = [`Domain: ${instr.domain}`, `Reason for call:\n${pyIndent(instr.reason_for_call, '\t')}`];
  if (instr.known_info != null) lines.push(`Known info:\n${pyIndent(instr.known_info, '\t')}`);
  if (instr.unknown_info != null) lines.push(`Unknown info:\n${pyIndent(instr.unknown_info, '\t')}`);
  lines.push(`Task instructions:\n${pyIndent(instr.task_instructions, '\t')}`);
  return lines.join('\n');
}

/** `str(user_scenario)`. */
export function renderScenario(s: UserScenario): string {
  const lines: string[] = [];
  if (s.persona != null) lines.push('Persona:', pyIndent(s.persona, '\t'));
  lines.push('Instructions:', pyIndent(renderInstructions(s.instructions), '\t'));
  return lines.join('\n');
}

/** `str(task.user_scenario)`: what the user simulator receives inside `<scenario>`. */
export function renderUserScenario(task: Pick<Task, 'user_scenario'>): string {
  return renderScenario(task.user_scenario);
}
