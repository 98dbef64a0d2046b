// One dialogue with every role behind NATS: the scene machine driving remote ports.
import type { NatsConnection } from '@nats-io/transport-node';
import type { DialogueResult } from '../../protocols/dialogue.ts';
import { remoteAgentPort, remoteEnvPort, remoteUserPort, type RemoteOptions, type RemoteSceneInput } from '../kit/remote.ts';
import { runScene } from './machine.ts';

/** Play one dialogue whose agent, user and environment are services on the bus. */
export async function playRemoteScene(nc: NatsConnection, input: RemoteSceneInput, o: RemoteOptions): Promise<DialogueResult> {
  const env = remoteEnvPort(nc, input, o);
  try {
    return await runScene({ ...input, agent: remoteAgentPort(nc, input.domain, o), user: remoteUserPort(nc, input.domain, o), env });
  } finally {
    await env.close().catch(() => undefined);
  }
}
