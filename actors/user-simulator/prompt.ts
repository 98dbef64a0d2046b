// The user simulator's system prompt, assembled exactly as τ²-bench assembles it:
//   strip( guidelines.replace("<PERSONA_GUIDELINES>", persona) + "\n\n<scenario>\n" + scenario + "\n</scenario>" )
// where `guidelines` is the data file `user_simulator/simulation_guidelines.md`, or
// `simulation_guidelines_tools.md` when the user has tools, and `scenario` is the task's rendered
// user_scenario (domains/tasks renders it). The guidelines are τ² data, read through TAU2_DATA_DIR.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tau2DataDir } from '../../runtime/config/paths.ts';

export const PERSONA_PLACEHOLDER = '<PERSONA_GUIDELINES>';

export function guidelinesPath(userHasTools: boolean, dataDir: string = tau2DataDir()): string {
  const file = userHasTools ? 'simulation_guidelines_tools.md' : 'simulation_guidelines.md';
  return join(dataDir, 'tau2', 'user_simulator', file);
}

/** Read the text-mode user guidelines from the τ² data. */
export function loadUserGuidelines(userHasTools: boolean, dataDir?: string): string {
  const path = guidelinesPath(userHasTools, dataDir);
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read the user-simulator guidelines at ${path}: ${(e as Error).message}`);
  }
}

// Characters for which Python's str.isspace() is true.
const PY_SPACE = '\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const PY_LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`, 'u');

/**
 * Python's str.strip() with no argument: strips whitespace as Python defines it. JS trim() also
 * strips U+FEFF and a few others that Python keeps, so be explicit.
 */
export function pyStrip(s: string): string {
  return s.replace(PY_LEADING_SPACE, '').replace(PY_TRAILING_SPACE, '');
}

/** The system prompt. `persona` is only used by guidelines that carry the placeholder (voice ones). */
export function buildUserSystemPrompt(guidelines: string, renderedScenario: string, persona = ''): string {
  return pyStrip(guidelines.replaceAll(PERSONA_PLACEHOLDER, persona) + '\n\n<scenario>\n' + renderedScenario + '\n</scenario>');
}
