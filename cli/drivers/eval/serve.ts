// Run evaluation services (environment, agent, user simulator) as a separate process that joins an
// existing bus — a replica in the same queue groups as `troupe eval`'s own, so an evaluation scales
// out, and replicas can be killed and restarted mid-run.
//
//   npx tsx cli/drivers/eval/serve.ts --nats URL [--nats-user U --nats-pass P] --domain mock
//       --services env,agent,user [--agent oracle|llm] [--agent-model local] [--user llm|scripted]
//       [--user-model local] [--max-tokens N] [--tasks FILE] [--harness-delay-ms MS]
//
// `--agent oracle` and `--user scripted` are TEST HARNESSES (plumbing tests), never defaults.
import { parseArgs } from 'node:util';
import { connectNats } from '../../../runtime/nats/connect.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../../runtime/nats/connect.ts';
import { stopLocalModelServer } from '../../../llm/server/embedded.ts';
import { getDomain } from '../../../domains/registry.ts';
import { taskResolver } from '../../../actors/kit/task-env.ts';
import { startEvalServices, type AgentChoice, type UserChoice } from './services.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions,
      domain: { type: 'string' },
      services: { type: 'string', default: 'env,agent,user' },
      agent: { type: 'string', default: 'llm' },
      'agent-model': { type: 'string', default: 'local' },
      user: { type: 'string', default: 'llm' },
      'user-model': { type: 'string', default: 'local' },
      'max-tokens': { type: 'string' },
      tasks: { type: 'string' },
      'harness-delay-ms': { type: 'string' },
    },
  });
  if (!values.domain) throw new Error('--domain is required');
  const nats = natsSettingsFromFlags(values);
  if (!nats) throw new Error('--nats URL (or TROUPE_NATS_URL) is required: this process joins an existing bus');
  const want = new Set(values.services!.split(',').map((s) => s.trim()));
  for (const s of want) if (!['env', 'agent', 'user'].includes(s)) throw new Error(`--services: unknown service "${s}" (env, agent, user)`);
  const maxTokens = values['max-tokens'] ? Number(values['max-tokens']) : undefined;
  const agent: AgentChoice | undefined = !want.has('agent')
    ? undefined
    : values.agent === 'oracle'
      ? { kind: 'oracle' }
      : values.agent === 'llm'
        ? { kind: 'llm', model: { model: values['agent-model'], temperature: 0, maxTokens } }
        : (() => {
            throw new Error(`--agent must be llm or oracle, got ${values.agent}`);
          })();
  const user: UserChoice | undefined = !want.has('user')
    ? undefined
    : values.user === 'scripted'
      ? { kind: 'scripted' }
      : values.user === 'llm'
        ? { kind: 'llm', model: { model: values['user-model'], temperature: 0, maxTokens } }
        : (() => {
            throw new Error(`--user must be llm or scripted, got ${values.user}`);
          })();
  const domain = getDomain(values.domain);
  const taskOf = taskResolver(domain, values.tasks);
  const nc = await connectNats({ ...nats, name: `eval-serve-${process.pid}` });
  const services = await startEvalServices(nc, {
    domain: values.domain,
    taskOf,
    run: { env: want.has('env'), agent, user },
    instance: `serve-${process.pid}`,
    harnessDelayMs: values['harness-delay-ms'] ? Number(values['harness-delay-ms']) : undefined,
  });
  await nc.flush();
  console.log(`serving ${[...want].join(',')} for ${values.domain} (pid ${process.pid})`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await services.stop();
  await nc.drain().catch(() => undefined);
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
