// TEST HARNESS — NOT AN AGENT. The oracle "agent" replays a task's gold actions so the plumbing
// (scene, user simulator, environment, evaluator) can be tested end to end with a known-good agent.
// It never reads the user's words; nothing may select it by default.
//
// Script, one scene turn each:
//   1. each gold action in order: an agent action becomes a tool call (id `oracle-<n>`); a user action
//      becomes a text message asking the user to perform it, and the oracle waits for the user's reply;
//   2. one closing message that states every `communicate_info` string (commas removed, as the
//      COMMUNICATE check compares against comma-free text);
//   3. up to `patience` follow-ups ("Is there anything else…") giving the user time to finish its own
//      part and stop; then it ends the dialogue (`agent_stop`).
// Its position is rebuilt from the history (each oracle message carries `raw_data.oracle.step`), so
// the harness holds no state of its own, like every role.
import type { AgentPort } from '../kit/ports.ts';
import type { AgentTurnReply, AgentTurnRequest, AssistantMessage, Message } from '../../protocols/dialogue.ts';
import { AGENT_STOP_TOKEN } from '../../protocols/dialogue.ts';

/** The parts of a τ² task the oracle reads. */
export interface OracleTask {
  id: string;
  evaluation_criteria?: {
    actions?: readonly { action_id?: string; requestor?: 'assistant' | 'user' | null; name: string; arguments: Record<string, unknown> }[] | null;
    communicate_info?: readonly string[] | null;
  } | null;
}

export interface OracleOptions {
  /** Follow-up turns to wait for the user to stop before ending the dialogue itself. Default 2. */
  patience?: number;
  /** The closing line's opening, instead of "Your request has been handled." (a refusal task's gold answer is a refusal). */
  closing?: string;
}

export const ORACLE_FOLLOW_UP = 'Is there anything else I can help you with?';

type OracleStep =
  | { kind: 'call'; name: string; arguments: Record<string, unknown> }
  | { kind: 'say'; text: string }
  | { kind: 'stop' };

function describeCall(name: string, args: Record<string, unknown>): string {
  const parts = Object.entries(args).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${name}(${parts.join(', ')})`;
}

/** The oracle's whole script for a task (pure). */
export function oracleScript(task: OracleTask, patience = 2, closing = 'Your request has been handled.'): OracleStep[] {
  const steps: OracleStep[] = [];
  for (const a of task.evaluation_criteria?.actions ?? []) {
    if (a.requestor === 'user') steps.push({ kind: 'say', text: `Please do this on your side: ${describeCall(a.name, a.arguments)}` });
    else steps.push({ kind: 'call', name: a.name, arguments: a.arguments });
  }
  const info = (task.evaluation_criteria?.communicate_info ?? []).map((s) => s.replaceAll(',', ''));
  steps.push({ kind: 'say', text: [closing, ...info].join(' ') });
  for (let i = 0; i < patience; i++) steps.push({ kind: 'say', text: ORACLE_FOLLOW_UP });
  steps.push({ kind: 'stop' });
  return steps;
}

/** Index of the next script step: one past the highest step recorded in the oracle's own messages. */
export function nextOracleStep(history: readonly Message[]): number {
  let next = 0;
  for (const m of history) {
    if (m.role !== 'assistant') continue;
    const step = (m.raw_data as { oracle?: { step?: unknown } } | undefined)?.oracle?.step;
    if (typeof step === 'number') next = Math.max(next, step + 1);
  }
  return next;
}

/** TEST HARNESS: an AgentPort that replays `task`'s gold actions. */
export function createOracleAgent(task: OracleTask, opts: OracleOptions = {}): AgentPort {
  const script = oracleScript(task, opts.patience ?? 2, opts.closing);
  return {
    async nextTurn(req: AgentTurnRequest): Promise<AgentTurnReply> {
      const n = Math.min(nextOracleStep(req.history), script.length - 1);
      const step = script[n];
      const base: Omit<AssistantMessage, 'content'> = { role: 'assistant', cost: 0, usage: null, raw_data: { oracle: { step: n, taskId: task.id } } };
      switch (step.kind) {
        case 'call':
          return {
            message: { ...base, content: null, tool_calls: [{ id: `oracle-${n}`, name: step.name, arguments: { ...step.arguments }, requestor: 'assistant' }] },
            stop: false,
          };
        case 'say':
          return { message: { ...base, content: step.text, tool_calls: null }, stop: false };
        case 'stop':
          return { message: { ...base, content: AGENT_STOP_TOKEN, tool_calls: null }, stop: true };
      }
    },
  };
}
