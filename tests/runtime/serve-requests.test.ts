// A role that answers request/reply subjects (`RoleDefinition.serves`), hosted by the runtime: one
// machine actor per request, the reply is the machine's output; failures come back as rpc-errors that
// keep the infrastructure/role distinction; replicas share a queue group; a drain finishes what it
// is answering. Real nats-server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { PipelineStage0, PipelineStage1, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { defineRole, type RoleInput } from '../../runtime/host/role.ts';
import { hostRequests, type HostedRequests } from '../../runtime/host/host.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { callRpc } from '../../runtime/rpc/rpc.ts';
import { InfrastructureError } from '../../runtime/rpc/errors.ts';
import { decodeEnvelope } from '../../protocols/envelope.ts';
import { RpcFailed } from '../../protocols/dialogue.ts';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

const SUBJECT = 'troupe.rpc.test.upper';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const machine = setup({
  types: { input: {} as RoleInput<PipelineItem>, context: {} as { input: RoleInput<PipelineItem>; out?: PipelineItem }, output: {} as PipelineItem },
  actors: {
    work: fromPromise<PipelineItem, RoleInput<PipelineItem>>(async ({ input }) => {
      const item = input.data;
      if (item.workMs) await sleep(item.workMs);
      if (item.failAt === 'infra') throw new InfrastructureError('the model endpoint is down');
      if (item.failAt === 'role') throw new Error('the role could not answer');
      return { ...item, payload: `${item.payload.toUpperCase()} by ${input.role.instance}` };
    }),
  },
}).createMachine({
  context: ({ input }) => ({ input }),
  initial: 'working',
  states: {
    working: { invoke: { src: 'work', input: ({ context }) => context.input, onDone: { target: 'answered', actions: assign({ out: ({ event }) => event.output }) } } },
    answered: { type: 'final' },
  },
  output: ({ context }) => context.out!,
});

const role = defineRole({ name: 'upper', impl: 'upper@1', version: '1', consumes: [], produces: [], serves: [{ subject: SUBJECT, queue: 'upper', request: PipelineStage0, reply: PipelineStage1 }], machine, timeoutMs: 5_000 });

let nats: TestNats;
let a: HostedRequests;
let b: HostedRequests;
const ask = (item: Partial<PipelineItem>) =>
  callRpc(nats.nc, SUBJECT, PipelineStage0, { seq: 0, payload: 'x', hops: [], ...item }, PipelineStage1, { from: { role: 'test', instance: 'test' }, timeoutMs: 10_000 });

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  nats = await startTestNats();
  a = await hostRequests(new Bus(nats.nc, { role: 'upper', instance: 'upper-a', impl: role.impl }), role);
  b = await hostRequests(new Bus(nats.nc, { role: 'upper', instance: 'upper-b', impl: role.impl }), role);
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await nats?.stop();
});

describe('a role that serves a request subject', () => {
  it('answers each request with its machine\'s output; replicas share the queue group', async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => ask({ seq: i, payload: `item ${i}`, workMs: 20 })));
    expect(replies.map((r) => r.payload.split(' by ')[0])).toEqual(Array.from({ length: 20 }, (_, i) => `ITEM ${i}`));
    const by = new Set(replies.map((r) => r.payload.split(' by ')[1]));
    expect(by).toEqual(new Set(['upper-a', 'upper-b']));
    expect(a.host.handled + b.host.handled).toBe(20);
    expect(a.host.inFlight + b.host.inFlight).toBe(0);
  });

  it('answers a failing machine with an rpc-error that keeps the infrastructure flag', async () => {
    const role = await ask({ failAt: 'role' }).catch((e) => e);
    expect(role).toBeInstanceOf(Error);
    expect(role).not.toBeInstanceOf(InfrastructureError);
    expect(role.message).toBe('the role could not answer');
    const infra = await ask({ failAt: 'infra' }).catch((e) => e);
    expect(infra).toBeInstanceOf(InfrastructureError);
    expect(infra.message).toBe('the model endpoint is down');
    expect(a.host.failed + b.host.failed).toBe(2);
  });

  it('refuses an invalid request, naming the problem', async () => {
    const failedBefore = a.host.failed + b.host.failed;
    const reply = await nats.nc.request(SUBJECT, JSON.stringify({ kind: 'pipeline.stage0', data: {} }), { timeout: 10_000 });
    const d = decodeEnvelope<{ message: string; infrastructure: boolean }>(reply.data);
    expect(d.ok && d.envelope.kind).toBe(RpcFailed.kind);
    expect(d.ok && d.envelope.data).toMatchObject({ message: expect.stringMatching(/^invalid pipeline\.stage0 request/), infrastructure: false });
    expect(a.host.failed + b.host.failed).toBe(failedBefore + 1);
  });

  it('a drain answers the requests in flight before the instance stops', async () => {
    const slow = Promise.all([ask({ payload: 'slow 1', workMs: 600 }), ask({ payload: 'slow 2', workMs: 600 })]);
    await sleep(200);
    expect(a.host.inFlight + b.host.inFlight).toBe(2);
    await Promise.all([a.stop(), b.stop()]);
    expect((await slow).map((r) => r.payload.split(' by ')[0])).toEqual(['SLOW 1', 'SLOW 2']);
    expect(a.host.state).toBe('stopped');
    // Nobody serves the subject any more: a request now is the caller's timeout (no responders).
    await expect(ask({ payload: 'late' })).rejects.toBeInstanceOf(InfrastructureError);
  });
});
