// The gRPC control plane end to end over a real loopback socket, with a fake ControlHandlers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ControlCallError,
  ControlError,
  createControlClient,
  generateControlToken,
  readControlEndpoint,
  startControlServer,
  writeControlEndpoint,
  type ControlHandlers,
  type ControlServer,
  type MessageEvent,
  type RoleInstance,
  type SwapRequest,
} from '../../runtime/control/index.ts';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const instances: RoleInstance[] = [
  { role: 'critic', implementation: 'critic@1', version: '1.0.0', instanceId: 'c-1', host: 'h', pid: 11, heartbeatMs: 1_700_000_000_123, inFlight: 2, model: 'smol', handled: 41, failed: 1, deadLettered: 0, instructionsRevision: 3, state: 'ready' },
  { role: 'actor', implementation: 'actor@1', version: '1.0.0', instanceId: 'a-1', host: 'h', pid: 12, heartbeatMs: 1_700_000_000_456, inFlight: 0, model: 'smol', handled: 7, failed: 0, deadLettered: 2, instructionsRevision: 0, state: 'draining' },
];

function fakeHandlers() {
  const swaps: SwapRequest[] = [];
  const instr = new Map<string, { text: string; revision: number }>();
  let watchEnded = false;
  const handlers: ControlHandlers = {
    listRoles: async (role) => instances.filter((i) => !role || i.role === role),
    swapRole: async (req) => {
      swaps.push(req);
      if (req.role === 'nobody') throw new ControlError('NOT_FOUND', 'no role "nobody"');
      return { role: req.role, oldInstanceIds: ['c-1'], newInstanceIds: ['c-2'], nowServing: req.implModule ?? req.model ?? 'rev', message: 'swapped' };
    },
    getInstructions: async (role) => {
      const i = instr.get(role);
      if (!i) throw new ControlError('NOT_FOUND', `no instructions for ${role}`);
      return { role, ...i };
    },
    setInstructions: async (role, text) => {
      const revision = (instr.get(role)?.revision ?? 0) + 1;
      instr.set(role, { text, revision });
      return { role, text, revision };
    },
    async *watchMessages(filter, signal) {
      try {
        for (let n = 0; !signal.aborted; n++) {
          const ev: MessageEvent = { subject: `troupe.task.${n % 2 ? 'accepted' : 'proposed'}`, kind: n % 2 ? 'task.accepted' : 'task.proposed', size: 100 + n, latencyMs: 0.5 * n, traceId: 'ab'.repeat(16), time: 1_700_000_000_000 + n };
          if (filter.kinds && !filter.kinds.includes(ev.kind)) { await new Promise((r) => setTimeout(r, 1)); continue; }
          yield ev;
          await new Promise((r) => setTimeout(r, 5));
        }
      } finally {
        watchEnded = true;
      }
    },
  };
  return { handlers, swaps, watchEnded: () => watchEnded };
}

describe('control plane', () => {
  const token = generateControlToken();
  const fake = fakeHandlers();
  let server: ControlServer;

  beforeAll(async () => {
    server = await startControlServer({ port: 0, token, handlers: fake.handlers });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('binds loopback by default', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('lists roles with all fields intact, and filters by role', async () => {
    const client = createControlClient(server.address, token);
    try {
      expect(await client.listRoles()).toEqual(instances);
      expect((await client.listRoles('actor')).map((i) => i.instanceId)).toEqual(['a-1']);
    } finally {
      client.close();
    }
  });

  it('rejects a wrong or missing token with UNAUTHENTICATED, on unary and streaming calls', async () => {
    for (const bad of ['wrong-token', '']) {
      const client = createControlClient(server.address, bad);
      try {
        const err = await client.listRoles().catch((e) => e);
        expect(err).toBeInstanceOf(ControlCallError);
        expect(err.code).toBe('UNAUTHENTICATED');
        expect(err.message).toMatch(/bearer token/);
        const streamErr = await (async () => {
          for await (const _ of client.watchMessages()) return 'got an event';
          return 'ended';
        })().catch((e) => e);
        expect(streamErr).toBeInstanceOf(ControlCallError);
        expect(streamErr.code).toBe('UNAUTHENTICATED');
      } finally {
        client.close();
      }
    }
    expect(fake.swaps).toHaveLength(0);
  });

  it('swaps a role: passes exactly one change through, maps handler errors to status codes', async () => {
    const client = createControlClient(server.address, token);
    try {
      const res = await client.swapRole({ role: 'critic', model: 'qwen' });
      expect(res).toEqual({ role: 'critic', oldInstanceIds: ['c-1'], newInstanceIds: ['c-2'], nowServing: 'qwen', message: 'swapped' });
      expect(fake.swaps.at(-1)).toEqual({ role: 'critic', model: 'qwen' });
      const nf = await client.swapRole({ role: 'nobody', implModule: 'x.ts' }).catch((e) => e);
      expect(nf.code).toBe('NOT_FOUND');
      expect(nf.details).toBe('no role "nobody"');
      const bad = await client.swapRole({ role: 'critic' } as SwapRequest).catch((e) => e);
      expect(bad.code).toBe('INVALID_ARGUMENT');
      expect(bad.details).toMatch(/exactly one of impl_module, model, instructions/);
    } finally {
      client.close();
    }
  });

  it('sets and gets instructions with revisions', async () => {
    const client = createControlClient(server.address, token);
    try {
      expect((await client.getInstructions('critic').catch((e) => e)).code).toBe('NOT_FOUND');
      expect(await client.setInstructions('critic', 'be strict')).toEqual({ role: 'critic', text: 'be strict', revision: 1 });
      expect(await client.setInstructions('critic', 'be fair')).toEqual({ role: 'critic', text: 'be fair', revision: 2 });
      expect(await client.getInstructions('critic')).toEqual({ role: 'critic', text: 'be fair', revision: 2 });
      expect((await client.setInstructions('critic', '').catch((e) => e)).code).toBe('INVALID_ARGUMENT');
    } finally {
      client.close();
    }
  });

  it('streams messages with the filter applied, and a client abort ends the handler', async () => {
    const client = createControlClient(server.address, token);
    try {
      const ac = new AbortController();
      const seen: MessageEvent[] = [];
      for await (const ev of client.watchMessages({ kinds: ['task.accepted'] }, ac.signal)) {
        seen.push(ev);
        if (seen.length === 3) ac.abort();
      }
      expect(seen).toHaveLength(3);
      expect(seen.every((e) => e.kind === 'task.accepted' && e.traceId === 'ab'.repeat(16))).toBe(true);
      expect(seen[0].size).toBeGreaterThan(100);
      await expect.poll(() => fake.watchEnded(), { timeout: 3000 }).toBe(true);
    } finally {
      client.close();
    }
  });

  it('writes the endpoint file private to the user and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-ctl-'));
    writeControlEndpoint(dir, { address: server.address, token });
    expect(statSync(join(dir, 'control.json')).mode & 0o777).toBe(0o600);
    expect(readControlEndpoint(dir)).toEqual({ address: server.address, token });
    expect(() => readControlEndpoint(join(dir, 'nope'))).toThrow(/no control endpoint/);
  });
});
