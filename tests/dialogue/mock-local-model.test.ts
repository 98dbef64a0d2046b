// End to end in one process with the real pieces: the oracle harness as agent, the real mock
// environment, the real local model (SmolLM2-135M through the project's model server and LLM client)
// as the user simulator, graded by the real evaluator. Two tasks keep it to a couple of minutes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectNats } from '../../runtime/nats/connect.ts';
import { startEmbeddedNats } from '../../runtime/nats/embedded.ts';
import { serveAgent } from '../../actors/kit/remote.ts';
import { playRemoteScene } from '../../actors/scene/play.ts';
import { startEnvironmentService } from '../../actors/scene/env-service.ts';
import { startUserService } from '../../actors/user-simulator/service.ts';
import { startAgentService } from '../../actors/actor/service.ts';
import { toSimulationRun } from '../../actors/scene/simulation-run.ts';
import { SimulationRunSchema } from '../../protocols/tau2/results.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { LlmClient, parseRoleModelConfig } from '../../llm/client/index.ts';
import { stopLocalModelServer } from '../../llm/server/embedded.ts';
import { getDomain } from '../../domains/registry.ts';
import { evaluateSimulation } from '../../domains/evaluator/evaluate.ts';
import { runScene } from '../../actors/scene/machine.ts';
import { findTask, historyFromTask, openTaskEnvironment } from '../../actors/kit/task-env.ts';
import { localEnvPort } from '../../actors/kit/remote.ts';
import { llmClientChatModel } from '../../actors/kit/llm-chat-model.ts';
import type { ChatModel, ChatRequest } from '../../actors/kit/ports.ts';
import { createOracleAgent } from '../../actors/actor/oracle-agent.ts';
import { createTaskUser, userSetupFor } from '../../actors/user-simulator/for-task.ts';
import { DialogueResult, GREETING } from '../../protocols/dialogue.ts';

import '../helpers/tau2.ts';
import { defaultModelFile } from '../helpers/model.ts';
// Needs the default model (or TROUPE_LOCAL_MODEL) and nats-server; both fail loudly when missing.
if (!process.env.TROUPE_LOCAL_MODEL) defaultModelFile();

describe('oracle + mock environment + local model as user', () => {
  afterAll(() => stopLocalModelServer());

  const mock = getDomain('mock');
  const tasks = mock.loadTasks({ split: 'base' });
  const client = new LlmClient({ role: 'user-simulator', config: parseRoleModelConfig('user-simulator', { model: 'local', temperature: 0, maxTokens: 64 }) });
  const seen: ChatRequest[] = [];
  const base = llmClientChatModel(client);
  const model: ChatModel = { complete: (req, signal) => (seen.push(req), base.complete(req, signal)) };

  it.each(['create_task_1'])('in process: %s ends graded with reward 1', { timeout: 300_000 }, async (taskId) => {
    const task = findTask(tasks, taskId, 'mock');
    seen.length = 0;
    const result = await runScene({
      dialogueId: `local-${taskId}`,
      domain: 'mock',
      taskId,
      agent: createOracleAgent(task),
      user: createTaskUser(mock, task, model, { maxTokens: 64 }),
      env: localEnvPort(openTaskEnvironment(mock, task)),
      messageHistory: historyFromTask(task),
      limits: { maxSteps: 24 },
    });
    expect(() => DialogueResult.parse(result)).not.toThrow();
    expect(['user_stop', 'agent_stop']).toContain(result.terminationReason);

    // The model really spoke, through the τ² user prompt and the role-flipped history.
    const userMsgs = result.messages.filter((m) => m.role === 'user' && m.usage);
    expect(userMsgs.length).toBeGreaterThan(0);
    expect(result.userUsage.completion_tokens).toBeGreaterThan(0);
    const { systemPrompt } = userSetupFor(mock, task);
    expect(seen[0].messages[0]).toEqual({ role: 'system', content: systemPrompt });
    if (!task.initial_state?.message_history) expect(seen[0].messages[1]).toEqual({ role: 'user', content: GREETING });
    expect(seen[0].tools?.map((t) => t.function.name).sort()).toEqual(['check_notifications', 'dismiss_notification']);

    const info = await evaluateSimulation(
      { task_id: taskId, termination_reason: result.terminationReason, messages: result.messages },
      task,
      (o) => mock.createEnvironment({ solo: o?.solo }),
    );
    expect(info.reward).toBe(1);
  });

  it('over NATS (env service, oracle service, user-simulator service): update_task_with_message_history', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-dialogue-llm-'));
    const server = await startEmbeddedNats(dir);
    const nc = await connectNats({ url: server.url, user: server.user, pass: server.pass });
    const services = [
      startEnvironmentService(nc, { domain: 'mock' }),
      serveAgent(nc, { domain: 'mock', from: { role: 'actor', instance: 'oracle-harness' }, agentFor: (req) => createOracleAgent(findTask(tasks, req.taskId!, 'mock')) }),
      await startUserService(nc, { domain: 'mock', model, maxTokens: 64 }),
    ];
    try {
      const task = findTask(tasks, 'update_task_with_message_history', 'mock');
      const result = await playRemoteScene(
        nc,
        { dialogueId: 'nats-llm-1', domain: 'mock', taskId: task.id, messageHistory: historyFromTask(task), limits: { maxSteps: 24 } },
        { from: { role: 'scene', instance: 'test' } },
      );
      expect(['user_stop', 'agent_stop']).toContain(result.terminationReason);
      expect(result.userUsage.completion_tokens).toBeGreaterThan(0);
      expect(result.messages.slice(0, 4).map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
      const info = await evaluateSimulation(
        { task_id: task.id, termination_reason: result.terminationReason, messages: result.messages },
        task,
        (o) => mock.createEnvironment({ solo: o?.solo }),
      );
      expect(info.reward).toBe(1);
    } finally {
      await Promise.all(services.map((s) => s.stop()));
      await nc.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the LLM agent service (local model, policy + tools) plays a few turns against the user service', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-dialogue-agent-'));
    const server = await startEmbeddedNats(dir);
    const nc = await connectNats({ url: server.url, user: server.user, pass: server.pass });
    const agentModel = llmClientChatModel(new LlmClient({ role: 'actor', config: parseRoleModelConfig('actor', { model: 'local', temperature: 0, maxTokens: 48 }) }));
    const services = [startEnvironmentService(nc, { domain: 'mock' }), await startAgentService(nc, { domain: 'mock', model: agentModel, maxTokens: 48 }), await startUserService(nc, { domain: 'mock', model, maxTokens: 48 })];
    try {
      const result = await playRemoteScene(nc, { dialogueId: 'llm-agent-1', domain: 'mock', taskId: 'create_task_1', limits: { maxSteps: 3 } }, { from: { role: 'scene', instance: 'test' } });
      expect(() => DialogueResult.parse(result)).not.toThrow();
      // A 135M agent rarely finishes a task; what matters here is that every turn went through.
      expect(['max_steps', 'user_stop', 'too_many_errors']).toContain(result.terminationReason);
      expect(result.agentUsage.completion_tokens).toBeGreaterThan(0);
      expect(result.messages.filter((m) => m.role === 'assistant' && m.usage).length).toBeGreaterThan(0);
      expect(() => SimulationRunSchema.parse(toSimulationRun(result))).not.toThrow();
    } finally {
      await Promise.all(services.map((s) => s.stop()));
      await nc.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
