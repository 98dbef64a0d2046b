// `troupe eval`: evaluate an agent on a τ²-bench domain through the society (see docs/dialogue.md,
// "Evaluation"). Writes τ²'s results.json after every simulation and resumes from it.
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initTracing } from '../../runtime/tracing/index.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { LOCAL_MODEL, type RoleModelConfigInput } from '../../llm/client/index.ts';
import { OpenAiNlJudge } from '../../llm/client/openai-nl-judge.ts';
import { finalReport, runEval } from '../drivers/eval/runner.ts';
import type { AgentChoice, UserChoice } from '../drivers/eval/services.ts';

const USAGE = `usage: troupe eval --domain D [--split base|train|test|…] [--task-ids a,b] [--tasks FILE] [--limit N]
    [--agent-model local|NAME [--agent-base-url URL] [--agent-api-key-env VAR]]
    [--user-model local|NAME [--user-base-url URL] [--user-api-key-env VAR]] [--user-opening model|scenario]
    [--agent-may-stop] [--max-tokens N] [--agent-max-tokens N] [--user-max-tokens N] [--temperature T]
    [--trials K] [--concurrency C] [--seed S] [--max-steps 200] [--max-errors 10]
    [--judge-model NAME --judge-base-url URL [--judge-api-key-env VAR]]   (NL_ASSERTION tasks)
    [--rpc-timeout-s 120] [--external-services] [--nats URL …] --out results.json
    [--agent oracle]   TEST HARNESS: replay each task's gold actions instead of an agent model

Models: "local" (default) is the embedded model server shared by both roles; any other name needs
--<role>-base-url of an OpenAI-compatible endpoint, and the NAME of the environment variable that
holds its key (--<role>-api-key-env). Without --nats an embedded nats-server is started.
--external-services: environment/agent/user services run elsewhere (cli/drivers/eval/serve.ts, workers).
An existing --out file is resumed: finished (task, trial) simulations are kept, not redone.
--user-opening scenario: the user's first turn is the task's reason for call and known info verbatim
(for user models too small to state their task; default model, as τ²).
--agent-may-stop: an agent reply containing ###STOP### ends the dialogue (agent_stop), as τ²'s solo
agent; by default only the user or a limit ends it, as τ². For user models too small to ever stop.
--limit N evaluates the first N selected tasks. Replies are bounded by default (agent ${'$'}{DEFAULT_AGENT_MAX_TOKENS},
user ${'$'}{DEFAULT_USER_MAX_TOKENS} tokens; --max-tokens 0 lifts the bound, as τ² leaves it unset). A progress line
comes at least every 10 s; the pass^k table is printed at the end and on Ctrl-C. Spans and eval.log go
to the run directory (~/.troupe/runs/eval-…).`;

/** Default reply bounds: a small CPU model left unbounded can ramble for minutes per turn. */
export const DEFAULT_AGENT_MAX_TOKENS = 256;
export const DEFAULT_USER_MAX_TOKENS = 128;

function int(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions,
      domain: { type: 'string' },
      split: { type: 'string' },
      'task-ids': { type: 'string' },
      limit: { type: 'string' },
      tasks: { type: 'string' },
      agent: { type: 'string', default: 'llm' },
      'agent-model': { type: 'string', default: LOCAL_MODEL },
      'agent-base-url': { type: 'string' },
      'agent-api-key-env': { type: 'string' },
      'user-model': { type: 'string', default: LOCAL_MODEL },
      'user-base-url': { type: 'string' },
      'user-api-key-env': { type: 'string' },
      'user-opening': { type: 'string', default: 'model' },
      'agent-may-stop': { type: 'boolean', default: false },
      'max-tokens': { type: 'string' },
      'agent-max-tokens': { type: 'string' },
      'user-max-tokens': { type: 'string' },
      temperature: { type: 'string', default: '0' },
      trials: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '1' },
      seed: { type: 'string', default: '300' },
      'max-steps': { type: 'string', default: '200' },
      'max-errors': { type: 'string', default: '10' },
      'rpc-timeout-s': { type: 'string' },
      'judge-model': { type: 'string' },
      'judge-base-url': { type: 'string' },
      'judge-api-key-env': { type: 'string' },
      'external-services': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.domain) throw new Error(`--domain is required\n${USAGE}`);
  if (!values.out) throw new Error(`--out results.json is required\n${USAGE}`);
  const temperature = Number(values.temperature);
  if (!Number.isFinite(temperature) || temperature < 0 || temperature > 2) throw new Error(`--temperature must be in [0, 2], got "${values.temperature}"`);
  const maxTokens = int('max-tokens', values['max-tokens'], 0);
  const limit = int('limit', values.limit, 1);
  const roleModel = (role: 'agent' | 'user'): RoleModelConfigInput => {
    const n = int(`${role}-max-tokens`, values[`${role}-max-tokens`], 0) ?? maxTokens ?? (role === 'agent' ? DEFAULT_AGENT_MAX_TOKENS : DEFAULT_USER_MAX_TOKENS);
    return {
      model: values[`${role}-model`],
      baseURL: values[`${role}-base-url`],
      apiKeyEnv: values[`${role}-api-key-env`],
      temperature,
      ...(n > 0 ? { maxTokens: n } : {}),
    };
  };
  let agent: AgentChoice;
  if (values.agent === 'oracle') {
    agent = { kind: 'oracle' };
    console.log('NOTE: --agent oracle is the TEST HARNESS (gold actions replayed); these numbers measure the plumbing and the user simulator, not an agent.');
  } else if (values.agent === 'llm') agent = { kind: 'llm', model: roleModel('agent'), mayStop: values['agent-may-stop'] };
  else throw new Error(`--agent must be "llm" (default) or "oracle" (test harness), got "${values.agent}"`);
  const opening = values['user-opening'];
  if (opening !== 'model' && opening !== 'scenario') throw new Error(`--user-opening must be "model" or "scenario", got "${opening}"`);
  const user: UserChoice = { kind: 'llm', model: roleModel('user'), opening };
  let judge: OpenAiNlJudge | undefined;
  if (values['judge-model'] || values['judge-base-url']) {
    if (!values['judge-model'] || !values['judge-base-url']) throw new Error('--judge-model and --judge-base-url go together (an OpenAI-compatible endpoint)');
    const keyVar = values['judge-api-key-env'];
    if (keyVar && !process.env[keyVar]) throw new Error(`--judge-api-key-env: environment variable ${keyVar} is not set`);
    judge = new OpenAiNlJudge({ model: values['judge-model'], baseURL: values['judge-base-url'], apiKey: keyVar ? process.env[keyVar] : 'none' });
  }
  const rpcTimeoutS = int('rpc-timeout-s', values['rpc-timeout-s'], 1);

  // Ctrl-C: stop waiting, cancel the run, print the table of what finished (written after each result).
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) process.exit(130);
    console.error('\ntroupe eval: interrupted; cancelling the run (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  let logFile: WriteStream | undefined;
  let tracing: { shutdown(): Promise<void> } | undefined;
  const log = (l: string) => {
    console.log(l);
    logFile?.write(`${new Date().toISOString()} ${l}\n`);
  };
  const { results, ran, reRequested } = await runEval({
    limit,
    abort: abort.signal,
    log,
    onRunDir: (dir) => {
      // One run directory: the embedded NATS store, this command's spans and its log.
      process.env.TROUPE_RUN_DIR = dir;
      tracing = initTracing({ serviceName: 'eval', runDir: dir });
      logFile = createWriteStream(join(dir, 'eval.log'), { flags: 'a' });
      console.log(`eval: run directory ${dir} (spans/, eval.log)`);
    },
    domain: values.domain,
    split: values.split,
    taskIds: values['task-ids']?.split(',').map((s) => s.trim()).filter(Boolean),
    tasksFile: values.tasks,
    agent,
    user,
    agentLabel: agent.kind === 'oracle' ? 'oracle-test-harness' : values['agent-model']!,
    userLabel: values['user-model']!,
    trials: int('trials', values.trials, 1)!,
    concurrency: int('concurrency', values.concurrency, 1)!,
    seed: int('seed', values.seed, 0)!,
    maxSteps: int('max-steps', values['max-steps'], 1)!,
    maxErrors: int('max-errors', values['max-errors'], 1)!,
    out: values.out,
    nats: natsSettingsFromFlags(values),
    localServices: !values['external-services'],
    judge,
    rpcTimeoutMs: rpcTimeoutS ? rpcTimeoutS * 1000 : undefined,
  }).finally(() => process.off('SIGINT', onSignal));
  const selected = new Set((results.tasks as { id: string }[]).map((t) => t.id));
  log(`\n${finalReport(results, selected)}`);
  log(`\n${ran} simulation(s) run now${reRequested ? `, ${reRequested} re-requested after failures` : ''}; results in ${values.out}`);
  await tracing?.shutdown().catch(() => {});
  await new Promise<void>((r) => (logFile ? logFile.end(r) : r()));
  return abort.signal.aborted ? 130 : 0;
}
