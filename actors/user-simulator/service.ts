// The user-simulator role as a request/reply service: builds the simulator for the request's task
// (scenario, user tools, guidelines) and answers `dialogue.user-turn` in the `user-simulator` queue
// group. Stateless between turns: every request carries the user's whole view of the dialogue.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import { getDomain } from '../../domains/registry.ts';
import type { ChatModel, UserPort } from '../kit/ports.ts';
import { serveUser } from '../kit/remote.ts';
import type { RpcServer } from '../../runtime/rpc/rpc.ts';
import { taskResolver } from '../kit/task-env.ts';
import { createTaskUser } from './for-task.ts';

export function startUserService(
  nc: NatsConnection,
  o: { domain: string; model: ChatModel; taskFile?: string; from?: Sender; temperature?: number; maxTokens?: number },
): RpcServer {
  const domain = getDomain(o.domain);
  const resolve = taskResolver(domain, o.taskFile);
  const users = new Map<string, UserPort>();
  return serveUser(nc, {
    domain: o.domain,
    from: o.from ?? { role: 'user-simulator', instance: `user-simulator-${process.pid}` },
    userFor: (req) => {
      if (!req.taskId) throw new Error('dialogue.user-turn without taskId: the user simulator needs the task');
      let u = users.get(req.taskId);
      if (!u) users.set(req.taskId, (u = createTaskUser(domain, resolve(req.taskId), o.model, { temperature: o.temperature, maxTokens: o.maxTokens })));
      return u;
    },
  });
}
