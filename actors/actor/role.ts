// The actor (the agent) as a hosted role: it answers `dialogue.agent-turn` requests on
// `troupe.rpc.agent.<domain>` (queue group `actor`) with one machine actor per turn, and the
// machine's output is the reply. Stateless between turns: every request carries the agent's whole
// view of the dialogue, so any replica can answer any turn.
//
//   checking ─► composing ─► answering (final: the reply)
//      │ domain not served      │ the agent failed (model error, bad output)
//      └────────────────────────┴──► failed (the caller gets an rpc-error: agent_error, or
//                                     infrastructure_error when the model endpoint is down)
// The machine is the kit's turn machine (actors/kit/turn-role.ts), without the task check.
import { AgentTurnAnswered, AgentTurnAsked, QUEUE, agentTurnSubject, type AgentTurnReply, type AgentTurnRequest } from '../../protocols/dialogue.ts';
import { defineRole, type RoleContext, type RoleDefinition } from '../../runtime/host/role.ts';
import { getDomain } from '../../domains/registry.ts';
import type { AgentPort } from '../kit/ports.ts';
import { llmClientChatModel } from '../kit/llm-chat-model.ts';
import { workerLlm } from '../kit/work-role.ts';
import { servedDomains, turnMachine } from '../kit/turn-role.ts';
import { createDomainAgent } from './for-domain.ts';

export interface ActorRoleDeps {
  /** Implementation id (registry, `from.impl` of every reply): `actor-llm@1`, or a test harness's. */
  impl: string;
  /** Domains answered, one subject each. */
  domains: readonly string[];
  /** The agent that answers this request (the domain's LLM agent; the oracle harness for its task). */
  agentFor: (req: AgentTurnRequest) => AgentPort | Promise<AgentPort>;
  concurrency?: number;
}

export function actorMachine(deps: Pick<ActorRoleDeps, 'domains' | 'agentFor'>) {
  return turnMachine<AgentTurnRequest, AgentTurnReply>({
    id: 'actor',
    domains: deps.domains,
    refuseDomain: (domain) => new Error(`actor: domain "${domain}" is not served here (${deps.domains.join(', ')})`),
    compose: async (req, signal) => (await deps.agentFor(req)).nextTurn(req, signal),
    failedMessage: 'actor failed',
  });
}

export function actorRole(deps: ActorRoleDeps): RoleDefinition {
  return defineRole({
    name: 'actor',
    impl: deps.impl,
    version: '1',
    consumes: [],
    produces: [],
    serves: deps.domains.map((d) => ({ subject: agentTurnSubject(d), queue: QUEUE.agent, request: AgentTurnAsked, reply: AgentTurnAnswered })),
    machine: actorMachine(deps),
    concurrency: deps.concurrency ?? 16,
    timeoutMs: 10 * 60_000,
  });
}

/**
 * The LLM agent, as `troupe worker --roles actor` hosts it: model from `--model actor=M` or
 * TROUPE_ACTOR_MODEL / _BASE_URL / _API_KEY_ENV (default: the embedded local model; temperature 0 and
 * 200 tokens a reply, as in synthesis), domains from TROUPE_ACTOR_DOMAINS (default: all).
 */
export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  const llm = workerLlm('actor', ctx, { temperature: 0, maxTokens: 200 });
  const model = llmClientChatModel(llm);
  const agents = new Map<string, AgentPort>(); // one per domain: a pure function of domain and model
  return actorRole({
    impl: 'actor-llm@1',
    domains: servedDomains('actor'),
    agentFor: (req) => {
      let a = agents.get(req.domain);
      if (!a) agents.set(req.domain, (a = createDomainAgent(getDomain(req.domain), model, { temperature: llm.config.temperature, maxTokens: llm.config.maxTokens })));
      return a;
    },
  });
}
