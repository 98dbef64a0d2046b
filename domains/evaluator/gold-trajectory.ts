// A trajectory that performs a task's reference actions: the task's message history (or the
// greeting), each gold action as a tool call with the result a live environment returns, one agent
// message stating every `communicate_info` string, and a user stop. Grading it must give reward 1
// wherever the reference's own gold path does; tests and benchmarks use it as the "perfect agent".
import type { Message } from '../../protocols/tau2/results.ts';
import type { Task } from '../../protocols/tau2/task.ts';
import type { EnvFunctionCallIn, HistoryMessage, InitializationDataIn } from '../core/environment.ts';
import type { EnvFactory } from './env-check.ts';

export const GREETING = 'Hi! How can I help you today?';

/** Timestamps one millisecond apart, so sorting by timestamp keeps the order. */
export function stamp(i: number, base = Date.UTC(2026, 0, 1)): string {
  return new Date(base + i).toISOString().replace('Z', '');
}

export function goldTrajectory(task: Task, makeEnv: EnvFactory): Message[] {
  const init = task.initial_state ?? {};
  const history = (init.message_history ?? []) as Message[];
  const env = makeEnv();
  env.setState(
    (init.initialization_data ?? null) as InitializationDataIn | null,
    (init.initialization_actions ?? null) as EnvFunctionCallIn[] | null,
    history as unknown as HistoryMessage[],
  );
  const out: Message[] = history.length ? history.map((m) => ({ ...m })) : [{ role: 'assistant', content: GREETING, cost: 0 }];
  (task.evaluation_criteria?.actions ?? []).forEach((a, i) => {
    const requestor = a.requestor ?? 'assistant';
    const call = { id: `gold_${i}`, name: a.name, arguments: a.arguments, requestor };
    out.push({ role: requestor, content: null, tool_calls: [call] });
    const res = env.getResponse(call);
    out.push({ role: 'tool', id: res.id, content: res.content, requestor: res.requestor, error: res.error });
  });
  const info = task.evaluation_criteria?.communicate_info ?? [];
  if (info.length) out.push({ role: 'assistant', content: info.join('; ') });
  out.push({ role: 'user', content: '###STOP###' });
  const offset = out.length;
  return out.map((m, i) => ({ ...m, timestamp: m.timestamp ?? stamp(offset + i), turn_idx: i }) as Message);
}
