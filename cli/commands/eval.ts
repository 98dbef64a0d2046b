// `troupe eval`: evaluate an agent on a τ²-bench domain through the society (see docs/dialogue.md,
// "Evaluation"). Writes τ²'s results.json after every simulation and resumes from it.
import { parseArgs } from 'node:util';
import { natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { LOCAL_MODEL, type RoleModelConfigInput } from '../../llm/client/index.ts';
import { OpenAiNlJudge } from '../../llm/client/openai-nl-judge.ts';
import { finalReport, runEval } from '../drivers/eval/runner.ts';
import type { AgentChoice, UserChoice } from '../drivers/eval/services.ts';

const USAGE = `usage: troupe eval --domain D [--split base|train|test|…] [--task-ids a,b] [--tasks FILE]
    [--agent-model local|NAME [--agent-base-url URL] [--agent-api-key-env VAR]]
    [--user-model local|NAME [--user-base-url URL] [--user-api-key-env VAR]]
    [--max-tokens N] [--agent-max-tokens N] [--user-max-tokens N] [--temperature T]
    [--trials K] [--concurrency C] [--seed S] [--max-steps 200] [--max-errors 10]
    [--judge-model NAME --judge-base-url URL [--judge-api-key-env VAR]]   (NL_ASSERTION tasks)
    [--rpc-timeout-s 120] [--external-services] [--nats URL …] --out results.json
    [--agent oracle]   TEST HARNESS: replay each task's gold actions instead of an agent model

Models: "local" (default) is the embedded model server shared by both roles; any other name needs
--<role>-base-url of an OpenAI-compatible endpoint, and the NAME of the environment variable that
holds its key (--<role>-api-key-env). Without --nats an embedded nats-server is started.
--external-services: environment/agent/user services run elsewhere (cli/drivers/eval/serve.ts, workers).
An existing --out file is resumed: finished (task, trial) simulations are kept, not redone.`;

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
      tasks: { type: 'string' },
      agent: { type: 'string', default: 'llm' },
      'agent-model': { type: 'string', default: LOCAL_MODEL },
      'agent-base-url': { type: 'string' },
      'agent-api-key-env': { type: 'string' },
      'user-model': { type: 'string', default: LOCAL_MODEL },
      'user-base-url': { type: 'string' },
      'user-api-key-env': { type: 'string' },
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
  const maxTokens = int('max-tokens', values['max-tokens'], 1);
  const roleModel = (role: 'agent' | 'user'): RoleModelConfigInput => ({
    model: values[`${role}-model`],
    baseURL: values[`${role}-base-url`],
    apiKeyEnv: values[`${role}-api-key-env`],
    temperature,
    maxTokens: int(`${role}-max-tokens`, values[`${role}-max-tokens`], 1) ?? maxTokens,
  });
  let agent: AgentChoice;
  if (values.agent === 'oracle') {
    agent = { kind: 'oracle' };
    console.log('NOTE: --agent oracle is the TEST HARNESS (gold actions replayed); these numbers measure the plumbing and the user simulator, not an agent.');
  } else if (values.agent === 'llm') agent = { kind: 'llm', model: roleModel('agent') };
  else throw new Error(`--agent must be "llm" (default) or "oracle" (test harness), got "${values.agent}"`);
  const user: UserChoice = { kind: 'llm', model: roleModel('user') };
  let judge: OpenAiNlJudge | undefined;
  if (values['judge-model'] || values['judge-base-url']) {
    if (!values['judge-model'] || !values['judge-base-url']) throw new Error('--judge-model and --judge-base-url go together (an OpenAI-compatible endpoint)');
    const keyVar = values['judge-api-key-env'];
    if (keyVar && !process.env[keyVar]) throw new Error(`--judge-api-key-env: environment variable ${keyVar} is not set`);
    judge = new OpenAiNlJudge({ model: values['judge-model'], baseURL: values['judge-base-url'], apiKey: keyVar ? process.env[keyVar] : 'none' });
  }
  const rpcTimeoutS = int('rpc-timeout-s', values['rpc-timeout-s'], 1);

  const { results, ran, reRequested } = await runEval({
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
  });
  const selected = new Set((results.tasks as { id: string }[]).map((t) => t.id));
  console.log(`\n${finalReport(results, selected)}`);
  console.log(`\n${ran} simulation(s) run now${reRequested ? `, ${reRequested} re-requested after failures` : ''}; results in ${values.out}`);
  return 0;
}
