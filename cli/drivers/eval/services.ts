// The services an evaluation needs on the bus — environment, agent, user simulator — started in this
// process, or in a separate one with `cli/drivers/eval/serve.ts`. Each joins its queue group, so any
// number of replicas (here, elsewhere, or `troupe worker --roles actor,user-simulator`) share the
// load. The agent and the user simulator are the hosted role machines (actors/actor/role.ts,
// actors/user-simulator/role.ts), with the LLM or a test harness behind them.
import type { NatsConnection } from '@nats-io/transport-node';
import { getDomain } from '../../../domains/registry.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import type { UserMessage } from '../../../protocols/dialogue.ts';
import type { ChatModel, UserOpening } from '../../../actors/kit/ports.ts';
import { LlmClient, parseRoleModelConfig, type RoleModelConfigInput } from '../../../llm/client/index.ts';
import { llmClientChatModel } from '../../../actors/kit/llm-chat-model.ts';
import { serveEnvironment } from '../../../actors/kit/remote.ts';
import { Bus } from '../../../runtime/nats/bus.ts';
import { hostRequests } from '../../../runtime/host/host.ts';
import type { RoleDefinition } from '../../../runtime/host/role.ts';
import { openTaskEnvironment } from '../../../actors/kit/task-env.ts';
import { createDomainAgent } from '../../../actors/actor/for-domain.ts';
import { actorRole } from '../../../actors/actor/role.ts';
import { taskUsers, userSimulatorRole } from '../../../actors/user-simulator/role.ts';
import { createOracleAgent } from '../../../actors/actor/oracle-agent.ts';

/** Who plays the agent: an LLM (local or an endpoint), or the ORACLE TEST HARNESS. */
/** `mayStop`: the LLM agent ends the dialogue by saying ###STOP### (τ² solo-mode semantics; default off, as τ²). */
export type AgentChoice = { kind: 'llm'; model: RoleModelConfigInput; mayStop?: boolean } | { kind: 'oracle' };
/** Who plays the user: an LLM, or the SCRIPTED TEST HARNESS (plumbing tests only). */
/** `opening`: how the LLM user opens each dialogue (default `model`; see UserOpening). */
export type UserChoice = { kind: 'llm'; model: RoleModelConfigInput; opening?: UserOpening } | { kind: 'scripted' };

export interface EvalServiceOptions {
  domain: string;
  /** Task lookup for services that get only (domain, taskId). */
  taskOf: (taskId: string) => Task;
  /** Which services to run here. */
  run: { env?: boolean; agent?: AgentChoice; user?: UserChoice };
  instance: string;
  /** Added latency per agent/user turn (test harnesses only: widens the window for kill tests). */
  harnessDelayMs?: number;
  /** Wrap each role's chat model (benchmarks time the model calls this way). */
  wrapModel?: (role: 'actor' | 'user-simulator', model: ChatModel) => ChatModel;
}

export interface EvalServices {
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** TEST HARNESS user: says it has nothing to add, never calls tools; the oracle agent ends the dialogue. */
export const SCRIPTED_USER_TEXT = 'Thanks, that is all I needed to say. Please go ahead.';

export function llmClientFor(role: string, model: RoleModelConfigInput): LlmClient {
  return new LlmClient({ role, config: parseRoleModelConfig(role, model) });
}

export async function startEvalServices(nc: NatsConnection, o: EvalServiceOptions): Promise<EvalServices> {
  const domain = getDomain(o.domain);
  const servers: { stop(): Promise<void> }[] = [];
  const from = (role: string) => ({ role, instance: `${role}-${o.instance}` });
  const delay = o.harnessDelayMs ?? 0;
  const wrap = o.wrapModel ?? ((_role, m: ChatModel) => m);
  const host = async (role: RoleDefinition) => servers.push(await hostRequests(new Bus(nc, { ...from(role.name), impl: role.impl }), role));

  try {
    if (o.run.env) {
      servers.push(serveEnvironment(nc, { domain: o.domain, from: from(`env-${o.domain}`), open: (id) => openTaskEnvironment(domain, o.taskOf(id)) }));
    }
    const agent = o.run.agent;
    if (agent?.kind === 'oracle') {
      await host(actorRole({
        impl: 'oracle-test-harness',
        domains: [o.domain],
        agentFor: async (req) => {
          if (!req.taskId) throw new Error('the oracle test harness needs the taskId in dialogue.agent-turn');
          if (delay) await sleep(delay);
          return createOracleAgent(o.taskOf(req.taskId));
        },
      }));
    } else if (agent?.kind === 'llm') {
      const a = createDomainAgent(domain, wrap('actor', llmClientChatModel(llmClientFor('actor', agent.model))), {
        temperature: agent.model.temperature,
        maxTokens: agent.model.maxTokens,
        mayStop: agent.mayStop,
      });
      await host(actorRole({ impl: 'actor-llm@1', domains: [o.domain], agentFor: () => a }));
    }
    const user = o.run.user;
    if (user?.kind === 'scripted') {
      await host(userSimulatorRole({
        impl: 'scripted-test-harness',
        domains: [o.domain],
        needsTask: false,
        userFor: () => ({
          async nextTurn() {
            if (delay) await sleep(delay);
            const message: UserMessage = { role: 'user', content: SCRIPTED_USER_TEXT };
            return { message };
          },
        }),
      }));
    } else if (user?.kind === 'llm') {
      const model = wrap('user-simulator', llmClientChatModel(llmClientFor('user-simulator', user.model)));
      await host(userSimulatorRole({
        impl: 'user-simulator-llm@1',
        domains: [o.domain],
        userFor: taskUsers(model, (_d, id) => o.taskOf(id), { temperature: user.model.temperature, maxTokens: user.model.maxTokens, opening: user.opening }),
      }));
    }
  } catch (e) {
    await Promise.allSettled(servers.map((s) => s.stop()));
    throw e;
  }
  return {
    async stop() {
      await Promise.allSettled(servers.map((s) => s.stop()));
    },
  };
}
