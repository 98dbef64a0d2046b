// The actor role as a request/reply service on the bus: one LLM agent per domain (policy + tools),
// answering `dialogue.agent-turn` in the `actor` queue group. Stateless between turns: every request
// carries the agent's whole view of the dialogue.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import { getDomain } from '../../domains/registry.ts';
import type { ChatModel } from '../kit/ports.ts';
import { serveAgent } from '../kit/remote.ts';
import type { RpcServer } from '../../runtime/rpc/rpc.ts';
import { createDomainAgent } from './for-domain.ts';

export function startAgentService(
  nc: NatsConnection,
  o: { domain: string; model: ChatModel; from?: Sender; temperature?: number; maxTokens?: number },
): RpcServer {
  const agent = createDomainAgent(getDomain(o.domain), o.model, { temperature: o.temperature, maxTokens: o.maxTokens });
  return serveAgent(nc, { domain: o.domain, from: o.from ?? { role: 'actor', instance: `actor-${process.pid}` }, agentFor: () => agent });
}
