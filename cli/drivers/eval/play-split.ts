// TEST HARNESS (not an evaluation): play a domain's task split with the ORACLE agent (gold actions
// replayed) against a real environment and a real user-simulator model, grade every dialogue, and
// print per-task outcomes. With a correct stack every task earns reward 1 unless the user simulator
// failed, so this measures the plumbing and the user model, never an agent.
//
//   npx tsx cli/drivers/eval/play-split.ts --domain mock [--split base] [--task-ids a,b] [--max-steps 200]
//       [--user-model local] [--base-url URL --api-key-env VAR] [--max-tokens 96] [--out FILE.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LlmClient, parseRoleModelConfig } from '../../../llm/client/index.ts';
import { stopLocalModelServer } from '../../../llm/server/embedded.ts';
import { getDomain } from '../../../domains/registry.ts';
import { evaluateSimulation } from '../../../domains/evaluator/evaluate.ts';
import { runScene } from '../../../actors/scene/machine.ts';
import { historyFromTask, openTaskEnvironment } from '../../../actors/kit/task-env.ts';
import { localEnvPort } from '../../../actors/kit/remote.ts';
import { llmClientChatModel } from '../../../actors/kit/llm-chat-model.ts';
import { createTaskUser } from '../../../actors/user-simulator/for-task.ts';
import { createOracleAgent } from '../../../actors/actor/oracle-agent.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string', default: 'mock' },
      split: { type: 'string', default: 'base' },
      'task-ids': { type: 'string' },
      'max-steps': { type: 'string', default: '200' },
      'user-model': { type: 'string', default: 'local' },
      'base-url': { type: 'string' },
      'api-key-env': { type: 'string' },
      'max-tokens': { type: 'string', default: '96' },
      out: { type: 'string' },
    },
  });
  const domain = getDomain(values.domain!);
  let tasks = domain.loadTasks({ split: values.split });
  if (values['task-ids']) {
    const want = new Set(values['task-ids'].split(','));
    tasks = tasks.filter((t) => want.has(t.id));
    if (tasks.length !== want.size) throw new Error(`unknown task id(s) in --task-ids for ${values.domain}/${values.split}`);
  }
  const maxTokens = Number(values['max-tokens']);
  const client = new LlmClient({
    role: 'user-simulator',
    config: parseRoleModelConfig('user-simulator', { model: values['user-model'], baseURL: values['base-url'], apiKeyEnv: values['api-key-env'], temperature: 0, maxTokens }),
  });
  const model = llmClientChatModel(client);

  console.log(`ORACLE TEST HARNESS: ${tasks.length} task(s) of ${values.domain}/${values.split}, user model ${values['user-model']}`);
  const rows: Record<string, unknown>[] = [];
  const started = Date.now();
  for (const [i, task] of tasks.entries()) {
    const t0 = Date.now();
    const result = await runScene({
      dialogueId: `oracle-${task.id}`,
      domain: domain.name,
      taskId: task.id,
      agent: createOracleAgent(task),
      user: createTaskUser(domain, task, model, { maxTokens }),
      env: localEnvPort(openTaskEnvironment(domain, task)),
      messageHistory: historyFromTask(task),
      limits: { maxSteps: Number(values['max-steps']) },
    });
    const info = await evaluateSimulation(
      { task_id: task.id, termination_reason: result.terminationReason, messages: result.messages },
      task,
      (o) => domain.createEnvironment({ solo: o?.solo }),
    );
    const userCalls = result.messages.filter((m) => m.role === 'user' && m.tool_calls?.length).length;
    // Why a task failed, as far as the harness can tell: the oracle cannot do the task (no gold
    // actions to replay), or the user simulator did not do its part / broke the dialogue.
    const criteria = task.evaluation_criteria;
    const userPartMissed = (info.env_assertions ?? []).some((a) => a.env_assertion.env_type === 'user' && !a.met);
    const blame =
      info.reward === 1
        ? undefined
        : !(criteria?.actions?.length) && (criteria?.env_assertions?.length ?? 0) > 0
          ? 'oracle-cannot'
          : ['user_error', 'max_steps'].includes(result.terminationReason) || userPartMissed || result.messages.some((m) => m.role === 'tool' && m.requestor === 'user' && m.error)
            ? 'user-simulator'
            : 'stack';
    const row = {
      task: task.id,
      reward: info.reward,
      termination: result.terminationReason,
      breakdown: info.reward_breakdown,
      steps: result.steps,
      userToolCalls: userCalls,
      toolErrors: result.numErrors,
      userTokens: result.userUsage,
      seconds: (Date.now() - t0) / 1000,
      ...(blame ? { blame } : {}),
      ...(result.error ? { error: result.error } : {}),
    };
    rows.push({ ...row, messages: result.messages });
    console.log(`[${i + 1}/${tasks.length}] ${JSON.stringify(row)}`);
  }
  const ok = rows.filter((r) => r.reward === 1).length;
  const byTermination: Record<string, number> = {};
  for (const r of rows) byTermination[r.termination as string] = (byTermination[r.termination as string] ?? 0) + 1;
  const byBlame: Record<string, number> = {};
  for (const r of rows) if (r.blame) byBlame[r.blame as string] = (byBlame[r.blame as string] ?? 0) + 1;
  console.log(
    `reward 1: ${ok}/${rows.length}; failures by cause ${JSON.stringify(byBlame)}; terminations ${JSON.stringify(byTermination)}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  if (values.out) writeFileSync(values.out, JSON.stringify(rows, null, 1));
  await stopLocalModelServer();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
