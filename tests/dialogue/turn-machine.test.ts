// Unit tests of the kit's turn machine as the actor and the user simulator use it: the reply, the
// refusals (domain not served, no task) with each role's message, and a failed turn.
import { describe, expect, it } from 'vitest';
import { createActor, toPromise, type AnyStateMachine } from 'xstate';
import { actorMachine } from '../../actors/actor/role.ts';
import { userSimulatorMachine } from '../../actors/user-simulator/role.ts';

const input = (data: Record<string, unknown>) => ({ data, delivery: 1, role: { name: 'x', impl: 'x@1', instance: 'i' }, message: {} }) as never;
const run = (machine: AnyStateMachine, data: Record<string, unknown>) => {
  const a = createActor(machine, { input: input(data) });
  const done = toPromise(a); // subscribed before start: a refusal errors the actor on its first step
  a.start();
  return done;
};
const reply = { role: 'assistant', content: 'hi' };

describe('turn machine', () => {
  it('the actor answers a served domain and refuses another with its message', async () => {
    const m = actorMachine({ domains: ['mock'], agentFor: () => ({ nextTurn: async () => reply }) as never });
    await expect(run(m, { domain: 'mock', messages: [] })).resolves.toEqual(reply);
    await expect(run(m, { domain: 'retail', messages: [] })).rejects.toThrow('actor: domain "retail" is not served here (mock)');
    expect(Object.keys(m.config.states!)).toEqual(['checking', 'composing', 'answering', 'failed']);
  });

  it('the user simulator checks the task after the domain, unless its harness needs none', async () => {
    const userFor = () => ({ nextTurn: async () => reply }) as never;
    const m = userSimulatorMachine({ domains: ['mock'], userFor });
    expect(Object.keys(m.config.states!)).toEqual(['checking', 'checkingTask', 'composing', 'answering', 'failed']);
    await expect(run(m, { domain: 'mock', taskId: 't1', messages: [] })).resolves.toEqual(reply);
    await expect(run(m, { domain: 'airline', messages: [] })).rejects.toThrow('user-simulator: domain "airline" is not served here (mock)');
    await expect(run(m, { domain: 'mock', messages: [] })).rejects.toThrow('dialogue.user-turn without taskId: the user simulator needs the task');
    await expect(run(userSimulatorMachine({ domains: ['mock'], userFor, needsTask: false }), { domain: 'mock', messages: [] })).resolves.toEqual(reply);
  });

  it('a failed turn raises the port error, or the role default for a non-Error', async () => {
    const boom = new Error('model down');
    await expect(run(actorMachine({ domains: ['mock'], agentFor: () => ({ nextTurn: async () => { throw boom; } }) as never }), { domain: 'mock' })).rejects.toBe(boom);
    await expect(run(actorMachine({ domains: ['mock'], agentFor: () => ({ nextTurn: async () => { throw undefined; } }) as never }), { domain: 'mock' })).rejects.toThrow('actor failed');
  });
});
