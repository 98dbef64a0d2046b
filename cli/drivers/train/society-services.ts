// The services GRPO rollouts need on the bus, started by the learner's own process when the society
// does not already run them: per domain, the environment, the actor (agent) answering from the model
// server that serves the policy, and the user simulator (an LLM, or the scripted test harness).
import type { NatsConnection } from '@nats-io/transport-node';
import { getDomain } from '../../../domains/registry.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import type { RoleModelConfigInput } from '../../../llm/client/index.ts';
import { startEvalServices, type EvalServices, type UserChoice } from '../eval/services.ts';
import type { RlTask } from '../../../actors/learner/rl-tasks.ts';

export interface RolloutServiceOptions {
  tasks: readonly RlTask[];
  /** The model server the agent calls (http://host:port). */
  modelServer: string;
  /** Sampling temperature of the agent (GRPO needs different dialogues within a group). */
  temperature: number;
  maxTokens?: number;
  user: UserChoice;
  /** The agent ends a rollout by saying ###STOP### (τ² solo-mode semantics; default off, as τ²). */
  agentMayStop?: boolean;
  instance?: string;
}

/** The id a model server serves its model under (GET /v1/models). */
export async function servedModelId(url: string): Promise<string> {
  const u = url.replace(/\/+$/, '').replace(/\/v1$/, '');
  let res: Response;
  try {
    res = await fetch(`${u}/v1/models`, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`model server ${u} is unreachable: ${cause ?? (e as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { data?: { id?: string }[] };
  const id = body.data?.[0]?.id;
  if (!res.ok || !id) throw new Error(`model server ${u}/v1/models gave no model id (HTTP ${res.status})`);
  return id;
}

export async function startRolloutServices(nc: NatsConnection, o: RolloutServiceOptions): Promise<EvalServices> {
  const base = o.modelServer.replace(/\/+$/, '').replace(/\/v1$/, '');
  // logprobs: the agent's replies carry the sampled token ids and log-probs (trained exactly, off-policy corrected).
  const agentModel: RoleModelConfigInput = { model: await servedModelId(base), baseURL: `${base}/v1`, temperature: o.temperature, maxTokens: o.maxTokens, maxRetries: 1, logprobs: true };
  const byDomain = new Map<string, Map<string, Task>>();
  for (const t of o.tasks) {
    getDomain(t.domain); // an unknown domain fails here, by name
    if (!byDomain.has(t.domain)) byDomain.set(t.domain, new Map());
    byDomain.get(t.domain)!.set(t.task.id, t.task);
  }
  const started: EvalServices[] = [];
  for (const [domain, tasks] of byDomain) {
    started.push(await startEvalServices(nc, {
      domain,
      taskOf: (id) => {
        const t = tasks.get(id);
        if (!t) throw new Error(`task "${id}" is not one of the RL tasks of domain ${domain}`);
        return t;
      },
      run: { env: true, agent: { kind: 'llm', model: agentModel, mayStop: o.agentMayStop }, user: o.user },
      instance: o.instance ?? `learner-${process.pid}`,
    }));
  }
  await nc.flush();
  return { stop: async () => { await Promise.all(started.map((s) => s.stop())); } };
}
