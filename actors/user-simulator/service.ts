// The user-simulator role hosted in this process for one domain, outside a worker (no registry
// entry): a given chat model behind the hosted machine (role.ts), answering `dialogue.user-turn` in
// the `user-simulator` queue group beside any worker replicas.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import { getDomain } from '../../domains/registry.ts';
import type { ChatModel } from '../kit/ports.ts';
import { Bus } from '../../runtime/nats/bus.ts';
import { hostRequests, type HostedRequests } from '../../runtime/host/host.ts';
import { taskResolver } from '../kit/task-env.ts';
import { taskUsers, userSimulatorRole } from './role.ts';

export function startUserService(
  nc: NatsConnection,
  o: { domain: string; model: ChatModel; taskFile?: string; from?: Sender; temperature?: number; maxTokens?: number },
): Promise<HostedRequests> {
  const resolve = taskResolver(getDomain(o.domain), o.taskFile);
  const role = userSimulatorRole({ impl: 'user-simulator-llm@1', domains: [o.domain], userFor: taskUsers(o.model, (_d, id) => resolve(id), { temperature: o.temperature, maxTokens: o.maxTokens }) });
  return hostRequests(new Bus(nc, { impl: role.impl, ...(o.from ?? { role: 'user-simulator', instance: `user-simulator-${process.pid}` }) }), role);
}
