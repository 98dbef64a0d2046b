// The control plane refuses bad input before any handler runs: INVALID_ARGUMENT naming the field,
// fast, whatever the size. Real gRPC server on loopback; instructions handlers over a real KV bucket
// (as the society wires them), the rest recording what reached them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createControlClient, generateControlToken, startControlServer, type ControlClient, type ControlHandlers, type ControlServer, type SwapRequest } from '../../runtime/control/index.ts';
import { MAX_INSTRUCTIONS_BYTES } from '../../runtime/control/validate.ts';
import { getInstructions, openInstructions, setInstructions } from '../../runtime/instructions/index.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

let nats: TestNats;
let server: ControlServer;
let client: ControlClient;
const reached: string[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  const kv = await openInstructions(nats.nc);
  const handlers: ControlHandlers = {
    listRoles: async (role) => (reached.push(`list ${role ?? '*'}`), []),
    swapRole: async (req) => (reached.push(`swap ${req.role}`), { role: req.role, oldInstanceIds: [], newInstanceIds: [], nowServing: 'x', message: 'ok' }),
    getInstructions: async (role) => {
      reached.push(`get ${role}`);
      const i = await getInstructions(kv, role);
      return { role, text: i?.text ?? '', revision: i?.revision ?? 0 };
    },
    setInstructions: async (role, text) => {
      reached.push(`set ${role}`);
      const i = await setInstructions(kv, role, text, { author: 'test' });
      return { role, text: i.text, revision: i.revision };
    },
    async *watchMessages() {
      reached.push('watch');
    },
  };
  const token = generateControlToken();
  server = await startControlServer({ port: 0, token, handlers });
  // The deadline the issue was measured with: a refusal must come well inside it.
  client = createControlClient(server.address, token, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await nats?.stop();
});

async function refused(p: Promise<unknown>, field: RegExp): Promise<void> {
  const t0 = Date.now();
  const err = (await p.then(() => null, (e) => e)) as { code?: string; details?: string } | null;
  expect(err, 'the call should have been refused').not.toBeNull();
  expect(err!.code).toBe('INVALID_ARGUMENT');
  expect(err!.details).toMatch(field);
  expect(Date.now() - t0).toBeLessThan(1_000);
}

describe('control plane input', () => {
  it('refuses a 100k-character role name on every call, quickly, without reaching a handler', async () => {
    const huge = 'a'.repeat(100_000);
    await refused(client.getInstructions(huge), /^role: must match .*\(100000 characters\)/);
    await refused(client.setInstructions(huge, 'x'), /^role: /);
    await refused(client.listRoles(huge), /^role: /);
    await refused(client.swapRole({ role: huge, model: 'local' }), /^role: /);
    expect(reached).toEqual([]);
  });

  it('refuses a path as a role name with INVALID_ARGUMENT (was INTERNAL from the KV store)', async () => {
    await refused(client.getInstructions('../../etc/passwd'), /^role: a role name, not a path/);
    await refused(client.setInstructions('critic/../x', 'x'), /not a path/);
    await refused(client.getInstructions('Critic'), /must match/);
    await refused(client.getInstructions(''), /role name is required/);
    expect(reached).toEqual([]);
  });

  it('bounds instructions text, model names and module paths', async () => {
    await refused(client.setInstructions('critic', 'x'.repeat(MAX_INSTRUCTIONS_BYTES + 1)), /^text: \d+ bytes is over the limit of 131072/);
    await refused(client.setInstructions('critic', ''), /^text: non-empty/);
    await refused(client.swapRole({ role: 'critic', instructions: 'é'.repeat(MAX_INSTRUCTIONS_BYTES / 2 + 1) }), /^instructions: .*over the limit/);
    await refused(client.swapRole({ role: 'critic', model: '../../models/x.gguf' }), /^model: /);
    await refused(client.swapRole({ role: 'critic', model: 'm'.repeat(300) }), /^model: .*\(300 characters\)/);
    await refused(client.swapRole({ role: 'critic', implModule: '../../etc/passwd' }), /^impl_module: a role name or a module file/);
    await refused(client.swapRole({ role: 'critic', implModule: `${'d/'.repeat(600)}x.ts` }), /^impl_module: 1204 characters is over the limit of 1024/);
    expect(reached).toEqual([]);
  });

  it('refuses a bad watch filter on the stream', async () => {
    const first = async (filter: { subject?: string; kinds?: string[] }) => {
      for await (const _ of client.watchMessages(filter)) return 'event';
      return 'ended';
    };
    await refused(first({ subject: 'troupe..msg' }), /^subject: a NATS subject filter/);
    await refused(first({ subject: 'troupe.>.x' }), /^subject: /);
    await refused(first({ subject: 'x'.repeat(10_000) }), /^subject: 10000 characters/);
    await refused(first({ kinds: Array.from({ length: 65 }, (_, i) => `k${i}`) }), /^kinds: 65 kinds is over the limit of 64/);
    await refused(first({ kinds: ['Not A Kind'] }), /^kinds: not a message kind/);
    expect(reached).toEqual([]);
  });

  it('lets valid requests through to the handlers', async () => {
    const set = await client.setInstructions('critic', 'Be strict.');
    expect(set.revision).toBeGreaterThan(0);
    expect((await client.getInstructions('critic')).text).toBe('Be strict.');
    await client.listRoles();
    await client.swapRole({ role: 'user-simulator', model: 'Qwen/Qwen2.5-7B-Instruct' });
    await client.swapRole({ role: 'stage-b', implModule: 'tests/fixtures/roles/stage-b-v2.ts' } as SwapRequest);
    await client.swapRole({ role: 'stage-b', implModule: 'stage-b' } as SwapRequest);
    expect(await (async () => { for await (const _ of client.watchMessages({ subject: 'troupe.msg.>', kinds: ['synth.task.proposed'] })) return 'event'; return 'ended'; })()).toBe('ended');
    expect(reached).toEqual(['set critic', 'get critic', 'list *', 'swap user-simulator', 'swap stage-b', 'swap stage-b', 'watch']);
  });
});
