// `troupe swap ROLE (--impl MODULE | --model M | --instructions FILE)`: replace a role while it runs.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createControlClient, endpointClientOptions, readControlEndpoint } from '../../runtime/control/index.ts';
import type { SwapRequest } from '../../runtime/control/types.ts';
import { findSociety } from '../../runtime/society/state.ts';

const HELP = 'usage: troupe swap ROLE (--impl MODULE | --model MODEL | --instructions FILE) [--run-id ID]';

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      impl: { type: 'string' },
      model: { type: 'string' },
      instructions: { type: 'string' },
      'run-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const role = positionals[0];
  const given = [values.impl, values.model, values.instructions].filter((v) => v !== undefined).length;
  if (!role || positionals.length > 1 || given !== 1) {
    console.error(`troupe swap: give one ROLE and exactly one of --impl, --model, --instructions\n${HELP}`);
    return 2;
  }
  let req: SwapRequest;
  if (values.impl !== undefined) req = { role, implModule: resolve(values.impl) };
  else if (values.model !== undefined) req = { role, model: values.model };
  else req = { role, instructions: readFileSync(values.instructions!, 'utf8') };
  const society = findSociety(values['run-id']);
  const ep = readControlEndpoint(society.runDir);
  const client = createControlClient(ep.address, ep.token, { timeoutMs: 300_000, ...endpointClientOptions(ep) });
  try {
    const r = await client.swapRole(req);
    console.log(`${r.message}\n  old: ${r.oldInstanceIds.join(', ') || '-'}\n  new: ${r.newInstanceIds.join(', ')}`);
    return 0;
  } finally {
    client.close();
  }
}
