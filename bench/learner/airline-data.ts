// bench/learner/airline-data: exported airline dialogues for the learner's end-to-end run (issue 13:
// "a 135M SFT epoch on exported airline dialogues and a GRPO step on airline").
//
// For each chosen τ² airline task (default: eight `base` tasks with one or two gold write actions):
//   - the checker the verifier compiles from the task's gold actions (goldDiff → specFromDiff →
//     compileChecker), as `bench/learn/society.ts` does for mock;
//   - one dialogue played by the ORACLE agent (gold actions replayed — a TEST HARNESS, as in synthesis
//     on the embedded model: a 135M agent completes no airline task) against the embedded 135M user
//     simulator and the real airline environment (the scene of `cli/drivers/eval/play-split.ts`);
//   - the dialogue as a dataset record (the agent's system prompt and tools as the verifier records
//     them), written by the export code of `troupe export` (`exportRecords`): `sft/sft.jsonl` (records
//     whose checker passes on their own dialogue; the others are reported) and `rl/rl_tasks.jsonl`
//     (every chosen task with its checker, for `[rollouts] tasks`).
//
// Run by hand (TAU2_DATA_DIR set; outputs under bench/results, git-ignored):
//   npx tsx bench/learner/airline-data.ts [--tasks 11,15,16,19,20,24,25,35] [--out bench/results/airline]
//       [--user-max-tokens 96] [--max-steps 40]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getDomain } from '../../domains/registry.ts';
import { compileChecker, goldDiff, specFromDiff } from '../../actors/verifier/checker.ts';
import { buildAgentSystemPrompt } from '../../actors/kit/agent-prompt.ts';
import { exportRecords, rlTask } from '../../cli/drivers/synth/export.ts';
import { runScene } from '../../actors/scene/machine.ts';
import { historyFromTask, openTaskEnvironment } from '../../actors/kit/task-env.ts';
import { localEnvPort } from '../../actors/kit/remote.ts';
import { llmClientChatModel } from '../../actors/kit/llm-chat-model.ts';
import { createTaskUser } from '../../actors/user-simulator/for-task.ts';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import { LlmClient, parseRoleModelConfig } from '../../llm/client/index.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';
import type { DatasetRecord } from '../../protocols/synthesis.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '11,15,16,19,20,24,25,35' },
    out: { type: 'string', default: 'bench/results/airline' },
    'user-max-tokens': { type: 'string', default: '96' },
    'max-steps': { type: 'string', default: '40' },
  },
});
const out = resolve(values.out!);
mkdirSync(out, { recursive: true });
const say = (s: string) => console.log(`[airline-data] ${s}`);

const airline = getDomain('airline');
const want = values.tasks!.split(',');
const tasks = airline.loadTasks({ split: 'base' }).filter((t) => want.includes(t.id));
if (tasks.length !== want.length) throw new Error(`unknown airline base task id(s) in --tasks ${values.tasks}`);
const agentTools = airline.createEnvironment().agentToolSchemas() as unknown as Record<string, unknown>[];
const agentSystemPrompt = buildAgentSystemPrompt(airline.policy());
const maxTokens = Number(values['user-max-tokens']);
const userModel = llmClientChatModel(
  new LlmClient({ role: 'user-simulator', config: parseRoleModelConfig('user-simulator', { model: 'local', temperature: 0, maxTokens }) }),
);

const records: DatasetRecord[] = [];
const plays: Record<string, unknown>[] = [];
const t0 = Date.now();
for (const task of tasks) {
  const { changes, writeCalls } = goldDiff(airline, task);
  if (!writeCalls.length) throw new Error(`task ${task.id} has no gold write: its checker would pass any dialogue`);
  const source = compileChecker(task.id, specFromDiff(changes, writeCalls));
  const t1 = Date.now();
  const result = await runScene({
    dialogueId: `oracle-${task.id}`,
    domain: 'airline',
    taskId: task.id,
    agent: createOracleAgent(task),
    user: createTaskUser(airline, task, userModel, { maxTokens }),
    env: localEnvPort(openTaskEnvironment(airline, task)),
    messageHistory: historyFromTask(task),
    limits: { maxSteps: Number(values['max-steps']) },
  });
  const play = { task: task.id, termination: result.terminationReason, messages: result.messages.length, steps: result.steps, seconds: (Date.now() - t1) / 1000 };
  plays.push(play);
  say(JSON.stringify(play));
  records.push({
    recordId: `airline-oracle/${task.id}`,
    runId: 'airline-oracle',
    domain: 'airline',
    task,
    criteria: task.evaluation_criteria,
    checker: { source },
    dialogue: { messages: result.messages },
    agentTools,
    agentSystemPrompt,
    provenance: { bench: 'learner/airline-data', roles: { actor: { impl: 'oracle-teacher@1' }, 'user-simulator': { model: 'local' } } },
  } as unknown as DatasetRecord);
}
await stopLocalModelServer();

const sft = await exportRecords(records, 'sft', join(out, 'sft'), () => airline);
const rlDir = join(out, 'rl');
mkdirSync(rlDir, { recursive: true });
writeFileSync(join(rlDir, 'rl_tasks.jsonl'), records.map((r) => JSON.stringify(rlTask(r, airline))).join('\n') + '\n');
const summary = { seconds: (Date.now() - t0) / 1000, plays, sftWritten: sft.written, sftLeftOut: sft.leftOut, files: [...sft.files, join(rlDir, 'rl_tasks.jsonl')] };
writeFileSync(join(out, 'data-summary.json'), JSON.stringify(summary, null, 2) + '\n');
say(`sft: ${sft.written}/${records.length} dialogues pass their checker; left out ${JSON.stringify(sft.leftOut.map((l) => l.recordId))}; ${summary.seconds.toFixed(0)} s`);
