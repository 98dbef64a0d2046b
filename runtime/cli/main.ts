// `troupe` command dispatcher. Each command lives in its own module under ./commands and is loaded
// only when used, so `troupe ps` never pays for TensorFlow or the model runtime.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type CommandMain = (argv: string[]) => Promise<number | void>;

/** Every command Troupe knows, in the order `troupe --help` lists them. */
export const commands: Record<string, string> = {
  up: 'start a society (embedded nats-server unless --nats is given)',
  worker: 'join a running society with some roles',
  ps: 'list live role instances',
  swap: 'replace a role implementation, model or instructions while it runs',
  watch: 'live message flow',
  trace: 'print one trace as a causal tree',
  down: 'stop a society started with `troupe up`',
  model: 'model pull | serve | list',
  tau2: 'τ²-bench tools | replay | grade',
  eval: 'evaluate an agent on τ²-bench through the society',
  synth: 'synthesize verified tasks and dialogues',
  export: 'export the dataset (sft | tau2-tasks | rl)',
  evolve: 'run the evolver over synthesis rounds',
  instructions: 'show | history | diff | set | rollback role instructions',
  train: 'train the agent: sft | user-sft | grpo',
};

function commandFile(name: string): string {
  return fileURLToPath(new URL(`./commands/${name}.ts`, import.meta.url));
}

/** A command is listed before its module lands; it is available once `commands/<name>.ts` exists. */
export function isAvailable(name: string): boolean {
  return existsSync(commandFile(name));
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(
    ([name, summary]) => `  ${name.padEnd(width)}  ${summary}${isAvailable(name) ? '' : ' (not in this build yet)'}`,
  );
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
  if (!isAvailable(name)) {
    console.error(`troupe ${name}: not available in this build yet`);
    return 2;
  }
  const mod = (await import(commandFile(name))) as { main: CommandMain };
  try {
    return (await mod.main(rest)) ?? 0;
  } catch (err) {
    console.error(`troupe ${name}: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.TROUPE_DEBUG) console.error(err);
    return 1;
  }
}
