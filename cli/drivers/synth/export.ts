// Turning dataset records into files other tools read:
//  - sft:        OpenAI chat-format JSONL, both views of each dialogue: the agent's (system prompt, its
//                view of the turns, its tools) and the user simulator's (`user_view`: its instructions
//                and scenario as the system prompt, the role-flipped turns with its own tool calls and
//                results — τ² telecom is dual-control — and its tools), for agent SFT and user-model SFT
//  - tau2-tasks: a τ²-loadable tasks.json (τ²'s task schema, nothing else) + checkers/<task id>.js beside it
//  - rl:         one JSON line per task: scenario, criteria, checker source, initial-state reference
// Before anything is written, each record's checker is re-run on its own dialogue; a record that does
// not pass is left out and reported (never silently).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskSchema, type Task } from '../../../protocols/tau2/task.ts';
import type { DatasetRecord } from '../../../protocols/synthesis.ts';
import type { DomainSpec } from '../../../domains/core/domain.ts';
import { toPythonJson } from '../../../domains/evaluator/results-io.ts';
import { runChecker } from '../../../sandbox/checker-sandbox.ts';
import { agentView, userView } from '../../../actors/kit/views.ts';
import { flipForUser } from '../../../actors/user-simulator/flip.ts';
import { userSetupFor } from '../../../actors/user-simulator/for-task.ts';
import { toAgentChat } from '../../../actors/kit/agent.ts';
import { dialogueFinalState, initialEnvironment, stateOf } from '../../../domains/tasks/states.ts';

export type ExportFormat = 'sft' | 'tau2-tasks' | 'rl';

export interface RecheckResult {
  record: DatasetRecord;
  pass: boolean;
  reasons: string[];
}

/** Re-run each record's checker on the state its dialogue leaves behind. */
export async function recheck(records: readonly DatasetRecord[], domain: (name: string) => DomainSpec): Promise<RecheckResult[]> {
  const out: RecheckResult[] = [];
  for (const r of records) {
    const d = domain(r.domain);
    const v = await runChecker(r.checker.source, {
      initialState: stateOf(initialEnvironment(d, r.task)),
      finalState: dialogueFinalState(d, r.task, r.dialogue.messages),
      trajectory: r.dialogue.messages,
    });
    out.push({ record: r, pass: v.pass, reasons: v.reasons });
  }
  return out;
}

/**
 * One SFT example: the conversation exactly as the agent saw it, plus the tools it was offered; and
 * exactly as the user simulator saw it (`user_view`: the messages its model was given — system prompt
 * from the task's scenario and the user guidelines, the agent's words as `user` turns, its own turns
 * and tool calls as `assistant`, its tool results as `tool` — and its tools), which `troupe train
 * user-sft` trains on. `user_system` / `user_tools` repeat the user's prompt and tools for readers.
 */
export function sftExample(r: DatasetRecord, domain: DomainSpec): Record<string, unknown> {
  const user = userSetupFor(domain, r.task);
  const userMessages = [{ role: 'system', content: user.systemPrompt }, ...flipForUser(userView(r.dialogue.messages as never))];
  return {
    messages: [{ role: 'system', content: r.agentSystemPrompt }, ...toAgentChat(agentView(r.dialogue.messages as never) as never)],
    tools: r.agentTools,
    user_system: user.systemPrompt,
    user_tools: user.tools,
    user_view: { messages: userMessages, tools: user.tools },
    metadata: { record_id: r.recordId, task_id: r.task.id, domain: r.domain, provenance: r.provenance },
  };
}

/** The task exactly in τ²'s schema (unknown keys dropped by the schema). */
export function tau2Task(r: DatasetRecord): Task {
  return TaskSchema.parse({ ...r.task, evaluation_criteria: r.criteria });
}

export function rlTask(r: DatasetRecord, domain: DomainSpec): Record<string, unknown> {
  const env = initialEnvironment(domain, r.task);
  return {
    task_id: r.task.id,
    domain: r.domain,
    user_scenario: r.task.user_scenario,
    evaluation_criteria: r.criteria,
    checker: { language: 'javascript', entry: 'check(initialState, finalState, trajectory)', source: r.checker.source },
    initial_state: {
      domain: r.domain,
      db: `tau2 data: domains/${r.domain}/db.json`,
      task_initial_state: r.task.initial_state ?? null,
      agent_db_hash: env.agentDbHash(),
      user_db_hash: env.userDbHash(),
    },
    provenance: r.provenance,
  };
}

export interface ExportSummary {
  written: number;
  leftOut: { recordId: string; reasons: string[] }[];
  files: string[];
}

export async function exportRecords(records: readonly DatasetRecord[], format: ExportFormat, outDir: string, domain: (name: string) => DomainSpec): Promise<ExportSummary> {
  mkdirSync(outDir, { recursive: true });
  const checked = await recheck(records, domain);
  const good = checked.filter((c) => c.pass).map((c) => c.record);
  const leftOut = checked.filter((c) => !c.pass).map((c) => ({ recordId: c.record.recordId, reasons: c.reasons }));
  const files: string[] = [];
  if (format === 'sft') {
    const f = join(outDir, 'sft.jsonl');
    writeFileSync(f, good.map((r) => JSON.stringify(sftExample(r, domain(r.domain)))).join('\n') + (good.length ? '\n' : ''));
    files.push(f);
  } else if (format === 'tau2-tasks') {
    const f = join(outDir, 'tasks.json');
    writeFileSync(f, toPythonJson(good.map(tau2Task), 4) + '\n');
    files.push(f);
    const cdir = join(outDir, 'checkers');
    mkdirSync(cdir, { recursive: true });
    for (const r of good) {
      const cf = join(cdir, `${r.task.id}.js`);
      writeFileSync(cf, r.checker.source);
      files.push(cf);
    }
  } else {
    const f = join(outDir, 'rl_tasks.jsonl');
    writeFileSync(f, good.map((r) => JSON.stringify(rlTask(r, domain(r.domain)))).join('\n') + (good.length ? '\n' : ''));
    files.push(f);
  }
  return { written: good.length, leftOut, files };
}
