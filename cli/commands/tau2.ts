// `troupe tau2 tools | replay | grade`: inspect τ² domains, replay gold actions, re-grade results.
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: troupe tau2 <subcommand> [options]

subcommands:
  tools  --domain D [--json] [--user]       the domain's tools (OpenAI function schemas with --json)
  replay --domain D [--split S | --tasks FILE] --out F.jsonl
                                            apply each task's gold actions to a fresh environment
                                            (after its initial_state); one JSON line per task:
                                            {"task_id", "agent_db", "user_db"}
  grade  RESULTS.json [--out F] ...         re-grade a τ² results file (see "troupe tau2 grade --help")`;

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'tools':
      return toolsCommand(rest);
    case 'replay':
      return replayCommand(rest);
    case 'grade': {
      // Loaded only when used: the evaluator pulls in the LLM judge client.
      const mod = (await import('../tau2-grade.ts')) as { gradeCommand(argv: string[]): Promise<number> };
      return mod.gradeCommand(rest);
    }
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return sub ? 0 : 1;
    default:
      console.error(`troupe tau2: unknown subcommand "${sub}"\n\n${USAGE}`);
      return 2;
  }
}

async function toolsCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      json: { type: 'boolean', default: false },
      user: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.domain) {
    console.log('usage: troupe tau2 tools --domain D [--json] [--user]\n  --user  the user simulator\'s tools (dual-control domains)');
    return values.help ? 0 : 2;
  }
  const { getDomain } = await import('../../domains/registry.ts');
  const { toolDescription } = await import('../../domains/core/tool.ts');
  const env = getDomain(values.domain).createEnvironment();
  if (values.user && !env.userTools) {
    console.error(`troupe tau2 tools: domain "${values.domain}" has no user tools`);
    return 2;
  }
  const schemas = values.user ? env.userToolSchemas() : env.agentToolSchemas();
  if (values.json) {
    const { dumps } = await import('../../domains/pycompat/pyjson.ts');
    // One JSON document; pretty-printed through the standard parser so nested objects indent.
    console.log(JSON.stringify(JSON.parse(dumps(schemas)), null, 2));
    return 0;
  }
  const defs = values.user ? env.getUserTools() : env.getTools();
  for (const tool of defs) {
    const params = tool.params.map((p) => ('default' in p ? `${p.name}?` : p.name)).join(', ');
    console.log(`${tool.name}(${params})  [${tool.type}]`);
    console.log(`    ${toolDescription(tool).split('\n').join('\n    ')}`);
  }
  return 0;
}

async function replayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      domain: { type: 'string' },
      split: { type: 'string' },
      tasks: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.domain || !values.out) {
    console.log('usage: troupe tau2 replay --domain D [--split S | --tasks FILE] --out F.jsonl');
    return values.help ? 0 : 2;
  }
  const { getDomain } = await import('../../domains/registry.ts');
  const { replayTasks } = await import('../../domains/tasks/replay.ts');
  const domain = getDomain(values.domain);
  const tasks = domain.loadTasks({ split: values.split, path: values.tasks });
  const out = createWriteStream(values.out);
  let failedActions = 0;
  const started = Date.now();
  const summary = replayTasks(domain, tasks, {
    onTask(line, result, i) {
      out.write(line + '\n');
      failedActions += result.errors.length;
      if ((i + 1) % 25 === 0 || i + 1 === tasks.length) {
        process.stderr.write(`replay ${domain.name}: ${i + 1}/${tasks.length} tasks\n`);
      }
    },
  });
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const secs = (Date.now() - started) / 1000;
  console.error(
    `replayed ${summary.tasks} ${domain.name} task(s) in ${secs.toFixed(2)}s -> ${values.out}` +
      (failedActions ? ` (${failedActions} gold action(s) raised an error and were skipped, as the reference does)` : ''),
  );
  return 0;
}
