// A domain's environments as a service on the bus, over the domain's task file.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import { getDomain } from '../../domains/registry.ts';
import { serveEnvironment, type EnvService } from '../kit/remote.ts';
import { openTaskEnvironment, taskResolver } from '../kit/task-env.ts';

export function startEnvironmentService(nc: NatsConnection, o: { domain: string; taskFile?: string; from?: Sender; idleMs?: number }): EnvService {
  const domain = getDomain(o.domain);
  const resolve = taskResolver(domain, o.taskFile);
  return serveEnvironment(nc, {
    domain: o.domain,
    from: o.from ?? { role: `env-${o.domain}`, instance: `env-${o.domain}-${process.pid}` },
    open: (taskId) => openTaskEnvironment(domain, resolve(taskId)),
    idleMs: o.idleMs,
  });
}
