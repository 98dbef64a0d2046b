// A dialogue whose agent, user and environment are services on a real nats-server: the request/reply
// ports, envelope validation, the environment service with two replicas in one queue group, and a
// replica killed mid-dialogue (the other rebuilds the dialogue's environment from `prior`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '../../runtime/nats/connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../runtime/nats/embedded.ts';
import { getDomain } from '../../domains/registry.ts';
import { evaluateSimulation } from '../../domains/evaluator/evaluate.ts';
import { findTask, historyFromTask, openTaskEnvironment } from '../../actors/kit/task-env.ts';
import { serveAgent, serveEnvironment, serveUser, type EnvService } from '../../actors/kit/remote.ts';
import { playRemoteScene } from '../../actors/scene/play.ts';
import { callRpc } from '../../runtime/rpc/rpc.ts';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import { AgentTurnAnswered, AgentTurnAsked, agentTurnSubject, type UserTurnReply } from '../../protocols/dialogue.ts';
import { InfrastructureError } from '../../actors/scene/machine.ts';
import { DialogueCompleted, DialogueRequest, DialogueRequested, type DialogueResult } from '../../protocols/dialogue.ts';
import { sceneMachineFor } from '../../actors/scene/role.ts';
import { defineRole } from '../../runtime/host/role.ts';
import { RoleHost } from '../../runtime/host/host.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { ensureStreams } from '../../runtime/nats/streams.ts';

import '../helpers/tau2.ts';
const from = (role: string) => ({ role, instance: `${role}-test` });

describe('scene over NATS', () => {
  let dir: string;
  let server: EmbeddedNats;
  const conns: NatsConnection[] = [];
  const connect = async () => {
    const nc = await connectNats({ url: server.url, user: server.user, pass: server.pass });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'troupe-dialogue-'));
    server = await startEmbeddedNats(dir);
  });
  afterAll(async () => {
    for (const nc of conns) if (!nc.isClosed()) await nc.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plays a mock task with the user\'s own tool calls, surviving an environment replica being killed', async () => {
    const mock = getDomain('mock');
    const tasks = mock.loadTasks({ split: 'base' });
    const task = findTask(tasks, 'update_task_with_user_tools', 'mock');

    // Two environment replicas, each on its own connection (a "process").
    const envConns = [await connect(), await connect()];
    const replicas: EnvService[] = envConns.map((nc, i) =>
      serveEnvironment(nc, { domain: 'mock', from: from(`env-${i}`), open: (id) => openTaskEnvironment(mock, findTask(tasks, id, 'mock')) }),
    );
    const svc = await connect();
    const agentSvc = serveAgent(svc, { domain: 'mock', from: from('actor'), agentFor: (req) => createOracleAgent(findTask(tasks, req.taskId!, 'mock')) });

    // A scripted user doing its part of the task: check the inbox, ask, dismiss, stop.
    let killed = -1;
    const userSvc = serveUser(svc, {
      domain: 'mock',
      from: from('user-simulator'),
      userFor: () => ({
        async nextTurn(req): Promise<UserTurnReply> {
          const mine = req.history.filter((m) => m.role === 'user').length;
          if (mine === 1 && killed < 0) {
            // The replica that ran the first batch dies before the next one.
            killed = replicas.findIndex((r) => r.handled > 0);
            await envConns[killed].close();
          }
          const lastAgent = [...req.history].reverse().find((m) => m.role === 'assistant')?.content ?? '';
          if (mine === 0) return { message: { role: 'user', content: null, tool_calls: [{ id: 'u-1', name: 'check_notifications', arguments: {}, requestor: 'user' }] } };
          if (mine === 1) return { message: { role: 'user', content: 'I finished task_1, please mark it completed.' } };
          if (mine === 2 && lastAgent.startsWith('Your request has been handled'))
            return { message: { role: 'user', content: null, tool_calls: [{ id: 'u-2', name: 'dismiss_notification', arguments: { notification_id: 'notif_1' }, requestor: 'user' }] } };
          return { message: { role: 'user', content: mine >= 3 ? 'All done, thanks. ###STOP###' : 'OK.' } };
        },
      }),
    });

    const scene = await connect();
    const result = await playRemoteScene(
      scene,
      { dialogueId: 'nats-1', domain: 'mock', taskId: task.id, messageHistory: historyFromTask(task), limits: { maxSteps: 40 } },
      { from: from('scene'), timeoutMs: 10_000 },
    );

    expect(result.terminationReason).toBe('user_stop');
    expect(killed).toBeGreaterThanOrEqual(0);
    const survivor = replicas[1 - killed];
    expect(survivor.rebuilds).toBeGreaterThanOrEqual(1);
    const tools = result.messages.filter((m) => m.role === 'tool');
    expect(tools.map((m) => m.role === 'tool' && [m.requestor, m.error])).toEqual([
      ['user', false],
      ['assistant', false],
      ['user', false],
    ]);
    const info = await evaluateSimulation(
      { task_id: task.id, termination_reason: result.terminationReason, messages: result.messages },
      task,
      (o) => mock.createEnvironment({ solo: o?.solo }),
    );
    // The user's dismissal reached the (rebuilt) environment and the agent's write matched the gold
    // action. (The DB component is 0 here by the task's own making: its gold actions omit the user's
    // dismissal that its env assertion demands, so the gold user DB keeps the notification unread.)
    expect(info.reward_breakdown).toMatchObject({ ENV_ASSERTION: 1, ACTION: 1 });
    // The scene told the replicas to drop the dialogue's environment.
    await new Promise((r) => setTimeout(r, 100));
    expect(survivor.instances).toBe(0);

    await Promise.all([agentSvc.stop(), userSvc.stop(), survivor.stop()]);
  });

  it('hosts the scene as a role: dialogue.requested in, one dialogue.completed out', async () => {
    const mock = getDomain('mock');
    const tasks = mock.loadTasks({ split: 'base' });
    const nc = await connect();
    await ensureStreams(nc, { storage: 'memory' });
    const env = serveEnvironment(nc, { domain: 'mock', from: from('env'), open: (id) => openTaskEnvironment(mock, findTask(tasks, id, 'mock')) });
    const agent = serveAgent(nc, { domain: 'mock', from: from('actor'), agentFor: (req) => createOracleAgent(findTask(tasks, req.taskId!, 'mock')) });
    const user = serveUser(nc, {
      domain: 'mock',
      from: from('user-simulator'),
      userFor: () => ({
        nextTurn: async (req) => {
          const last = [...req.history].reverse().find((m) => m.role === 'assistant')?.content ?? '';
          return { message: { role: 'user', content: last.startsWith('Your request has been handled') ? '###STOP###' : 'Please mark task_1 completed.' } };
        },
      }),
    });
    const completed: DialogueResult[] = [];
    const sub = nc.subscribe(DialogueCompleted.subject, { callback: (_e, m) => void completed.push(JSON.parse(new TextDecoder().decode(m.data)).data) });

    const role = defineRole({
      name: 'scene',
      impl: 'scene-test',
      version: '1',
      consumes: [DialogueRequested],
      produces: [DialogueCompleted],
      machine: sceneMachineFor({ connection: async () => nc, historyOf: (req) => historyFromTask(findTask(tasks, req.taskId, 'mock')), rpcTimeoutMs: 10_000 }),
    });
    const bus = new Bus(nc, from('eval'));
    const host = new RoleHost({ bus, role, instance: 'scene-1', log: () => {} });
    await host.start();
    await bus.publish(DialogueRequested, DialogueRequest.parse({ dialogueId: 'hosted-1', domain: 'mock', taskId: 'update_task_1', agent: { model: 'oracle' }, user: { model: 'scripted' } }));

    for (let i = 0; i < 100 && completed.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await host.drain();
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ dialogueId: 'hosted-1', taskId: 'update_task_1', terminationReason: 'user_stop' });
    expect(completed[0].messages.some((m) => m.role === 'tool' && m.content?.includes('completed'))).toBe(true);
    sub.unsubscribe();
    await Promise.all([env.stop(), agent.stop(), user.stop()]);
  });

  it('a scene replica killed mid-dialogue: the dialogue is replayed elsewhere and completed exactly once', async () => {
    const mock = getDomain('mock');
    const tasks = mock.loadTasks({ split: 'base' });
    const svc = await connect();
    await ensureStreams(svc, { storage: 'memory' });
    const env = serveEnvironment(svc, { domain: 'mock', from: from('env'), open: (id) => openTaskEnvironment(mock, findTask(tasks, id, 'mock')) });
    const user = serveUser(svc, {
      domain: 'mock',
      from: from('user-simulator'),
      userFor: () => ({
        nextTurn: async (req) => {
          const last = [...req.history].reverse().find((m) => m.role === 'assistant')?.content ?? '';
          return { message: { role: 'user', content: last.startsWith('Your request has been handled') ? '###STOP###' : 'Please create the task.' } };
        },
      }),
    });
    // Two scene replicas, each on its own connection (a "process").
    const sceneConns = [await connect(), await connect()];
    const hosts = sceneConns.map((nc, i) => {
      const role = defineRole({
        name: 'scene',
        impl: 'scene-test',
        version: '1',
        consumes: [DialogueRequested],
        produces: [DialogueCompleted],
        machine: sceneMachineFor({ connection: async () => nc, historyOf: () => [], rpcTimeoutMs: 5_000 }),
      });
      return new RoleHost({ bus: new Bus(nc, from(`scene-${i}`)), role, instance: `scene-${i}`, ackWaitMs: 1_500, log: () => {} });
    });
    // The agent: on the very first turn it asks for, the replica playing the dialogue is killed.
    let killed = -1;
    const agent = serveAgent(svc, {
      domain: 'mock',
      from: from('actor'),
      agentFor: async (req) => {
        if (killed < 0) {
          killed = hosts.findIndex((h) => h.inFlight > 0);
          await sceneConns[killed].close();
        }
        return createOracleAgent(findTask(tasks, req.taskId!, 'mock'));
      },
    });
    const completed: DialogueResult[] = [];
    const sub = svc.subscribe(DialogueCompleted.subject, { callback: (_e, m) => void completed.push(JSON.parse(new TextDecoder().decode(m.data)).data) });
    for (const h of hosts) await h.start();
    await new Bus(svc, from('eval')).publish(DialogueRequested, DialogueRequest.parse({ dialogueId: 'killed-1', domain: 'mock', taskId: 'create_task_1', agent: { model: 'oracle' }, user: { model: 'scripted' } }));

    for (let i = 0; i < 200 && completed.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1_000)); // room for a duplicate to show up
    expect(killed).toBeGreaterThanOrEqual(0);
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ dialogueId: 'killed-1', terminationReason: 'user_stop' });
    expect(completed[0].messages.filter((m) => m.role === 'tool')).toHaveLength(1);

    sub.unsubscribe();
    await hosts[1 - killed].drain();
    await Promise.race([hosts[killed].drain().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))]);
    await Promise.all([env.stop(), agent.stop(), user.stop()]);
  }, 30_000);

  it('answers an invalid request with an error naming the problem, and reports no responders as infrastructure', async () => {
    const nc = await connect();
    const svc = serveAgent(nc, { domain: 'mock', from: from('actor'), agentFor: () => ({ nextTurn: async () => ({ message: { role: 'assistant', content: 'hi' }, stop: false }) }) });
    // Bypass the client's own validation to send a bad body.
    const bad = await nc.request(agentTurnSubject('mock'), JSON.stringify({ id: 'x', kind: AgentTurnAsked.kind, v: 1, from: from('t'), sentAt: 0, data: { dialogueId: '' } }), { timeout: 5000 });
    expect(new TextDecoder().decode(bad.data)).toMatch(/dialogue\.rpc-error.*dialogueId/);

    const ok = await callRpc(nc, agentTurnSubject('mock'), AgentTurnAsked, { dialogueId: 'd', domain: 'mock', history: [] }, AgentTurnAnswered, { from: from('t'), timeoutMs: 5000 });
    expect(ok.message.content).toBe('hi');
    await svc.stop();

    await expect(
      callRpc(nc, agentTurnSubject('nowhere'), AgentTurnAsked, { dialogueId: 'd', domain: 'nowhere', history: [] }, AgentTurnAnswered, { from: from('t'), timeoutMs: 2000 }),
    ).rejects.toBeInstanceOf(InfrastructureError);
  });
});
