// The actor role hosted in this process for one domain, outside a worker (no registry entry): a
// given chat model behind the hosted machine (role.ts), answering `dialogue.agent-turn` in the
// `actor` queue group beside any worker replicas.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import { getDomain } from '../../domains/registry.ts';
import type { ChatModel } from '../kit/ports.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { hostRequests, type HostedRequests } from '../../runtime/host/host.ts';
import { createDomainAgent } from './for-domain.ts';
import { actorRole } from './role.ts';

export function startAgentService(
  nc: NatsConnection,
  o: { domain: string; model: ChatModel; from?: Sender; temperature?: number; maxTokens?: number },
): Promise<HostedRequests> {
  const agent = createDomainAgent(getDomain(o.domain), o.model, { temperature: o.temperature, maxTokens: o.maxTokens });
  const role = actorRole({ impl: 'actor-llm@1', domains: [o.domain], agentFor: () => agent });
  return hostRequests(new Bus(nc, { impl: role.impl, ...(o.from ?? { role: 'actor', instance: `actor-${process.pid}` }) }), role);
}
