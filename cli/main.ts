// `troupe` command dispatcher: the only entry point. Each command lives in its own module under
// ./commands and is loaded only when used, so `troupe ps` never pays for TensorFlow or the model runtime.

export type CommandMain = (argv: string[]) => Promise<number | void>;

type CommandModule = { main: CommandMain };

/** Every command Troupe knows, in the order `troupe --help` lists them; each module loads only when used. */
export const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  up: { summary: 'start a society (embedded nats-server unless --nats is given)', load: () => import('./commands/up.ts') },
  worker: { summary: 'join a running society with some roles', load: () => import('./commands/worker.ts') },
  ps: { summary: 'list live role instances', load: () => import('./commands/ps.ts') },
  swap: { summary: 'replace a role implementation, model or instructions while it runs', load: () => import('./commands/swap.ts') },
  watch: { summary: 'live message flow', load: () => import('./commands/watch.ts') },
  trace: { summary: 'print one trace as a causal tree', load: () => import('./commands/trace.ts') },
  cancel: { summary: 'cancel a work run: its remaining messages are dropped, not worked', load: () => import('./commands/cancel.ts') },
  down: { summary: 'stop a society started with `troupe up`', load: () => import('./commands/down.ts') },
  model: { summary: 'model pull | serve | list', load: () => import('./commands/model.ts') },
  tau2: { summary: 'τ²-bench tools | replay | grade', load: () => import('./commands/tau2.ts') },
  eval: { summary: 'evaluate an agent on τ²-bench through the society', load: () => import('./commands/eval.ts') },
  synth: { summary: 'synthesize verified tasks and dialogues', load: () => import('./commands/synth.ts') },
  export: { summary: 'export the dataset (sft | tau2-tasks | rl)', load: () => import('./commands/export.ts') },
  evolve: { summary: 'run the evolver over synthesis rounds', load: () => import('./commands/evolve.ts') },
  instructions: { summary: 'show | history | diff | set | rollback role instructions', load: () => import('./commands/instructions.ts') },
  train: { summary: 'train the agent: sft | user-sft | grpo', load: () => import('./commands/train.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: troupe <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun "troupe <command> --help" for a command's options.`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  if (!Object.hasOwn(commands, name)) {
    console.error(`troupe: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const mod = await commands[name]!.load();
  try {
    return (await mod.main(rest)) ?? 0;
  } catch (err) {
    console.error(`troupe ${name}: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.TROUPE_DEBUG) console.error(err);
    return 1;
  }
}
