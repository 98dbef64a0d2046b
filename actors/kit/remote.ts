// The scene's ports over NATS request/reply, and the serving side of each: an agent service, a user
// simulator service and an environment service. Replicas of a service join the same queue group.
// The actor and the user simulator as roles are hosted machines (actors/actor/role.ts,
// actors/user-simulator/role.ts, one machine per turn); `serveAgent` / `serveUser` here serve a plain
// port in the same queue groups (tests with scripted or deliberately flaky ports).
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import {
  AgentTurnAnswered,
  AgentTurnAsked,
  EnvClosed,
  EnvToolsAnswered,
  EnvToolsAsked,
  QUEUE,
  UserTurnAnswered,
  UserTurnAsked,
  agentTurnSubject,
  envCloseSubject,
  envToolsSubject,
  userTurnSubject,
  type AgentTurnRequest,
  type DialogueResult,
  type Message,
  type ToolCall,
  type ToolMessage,
  type UserTurnRequest,
} from '../../protocols/dialogue.ts';
import type { DialogueLimits } from '../../protocols/dialogue.ts';
import type { AgentPort, EnvPort, UserPort } from './ports.ts';
import { callRpc, publishEnvelope, serveRpc, type RpcServer } from '../../runtime/rpc/rpc.ts';

/** Default wait for one remote turn: generous, since a local CPU model can take a while. */
export const DEFAULT_RPC_TIMEOUT_MS = 120_000;

export interface RemoteOptions {
  from: Sender;
  timeoutMs?: number;
}

export function remoteAgentPort(nc: NatsConnection, domain: string, o: RemoteOptions): AgentPort {
  return {
    nextTurn: (req, signal) =>
      callRpc(nc, agentTurnSubject(domain), AgentTurnAsked, req, AgentTurnAnswered, { from: o.from, signal, timeoutMs: o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS }),
  };
}

export function remoteUserPort(nc: NatsConnection, domain: string, o: RemoteOptions): UserPort {
  return {
    nextTurn: (req, signal) =>
      callRpc(nc, userTurnSubject(domain), UserTurnAsked, req, UserTurnAnswered, { from: o.from, signal, timeoutMs: o.timeoutMs ?? DEFAULT_RPC_TIMEOUT_MS }),
  };
}

export interface RemoteEnvPort extends EnvPort {
  /** Tell every replica to drop this dialogue's environment. */
  close(): Promise<void>;
}

/** One dialogue's environment behind the `env.<domain>` service. Keeps the calls made so far (`prior`). */
export function remoteEnvPort(nc: NatsConnection, d: { dialogueId: string; domain: string; taskId: string }, o: RemoteOptions): RemoteEnvPort {
  const prior: ToolCall[] = [];
  return {
    async execute(toolCalls, signal) {
      const reply = await callRpc(
        nc,
        envToolsSubject(d.domain),
        EnvToolsAsked,
        { ...d, prior: [...prior], toolCalls },
        EnvToolsAnswered,
        { from: o.from, signal, timeoutMs: o.timeoutMs ?? 30_000 },
      );
      prior.push(...toolCalls);
      return reply.results;
    },
    async close() {
      await publishEnvelope(nc, envCloseSubject(d.domain), EnvClosed, { dialogueId: d.dialogueId, domain: d.domain }, o.from);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Serving side
// ---------------------------------------------------------------------------------------------

export function serveAgent(
  nc: NatsConnection,
  o: { domain: string; from: Sender; agentFor: (req: AgentTurnRequest) => AgentPort | Promise<AgentPort> },
): RpcServer {
  return serveRpc(nc, {
    subject: agentTurnSubject(o.domain),
    queue: QUEUE.agent,
    reqDef: AgentTurnAsked,
    replyDef: AgentTurnAnswered,
    from: o.from,
    handler: async (req) => (await o.agentFor(req)).nextTurn(req),
  });
}

export function serveUser(
  nc: NatsConnection,
  o: { domain: string; from: Sender; userFor: (req: UserTurnRequest) => UserPort | Promise<UserPort> },
): RpcServer {
  return serveRpc(nc, {
    subject: userTurnSubject(o.domain),
    queue: QUEUE.user,
    reqDef: UserTurnAsked,
    replyDef: UserTurnAnswered,
    from: o.from,
    handler: async (req) => (await o.userFor(req)).nextTurn(req),
  });
}

/** A dialogue's environment as the service sees it: run one tool call, get its ToolMessage. */
export interface DialogueEnvironment {
  execute(call: ToolCall): ToolMessage | Promise<ToolMessage>;
}

/** The scene's EnvPort over an in-process environment: the batch's calls run in order. */
export function localEnvPort(env: DialogueEnvironment): EnvPort {
  return {
    async execute(calls) {
      const out: ToolMessage[] = [];
      for (const c of calls) out.push(await env.execute(c));
      return out;
    },
  };
}

export interface EnvService extends RpcServer {
  /** Dialogues whose environment this replica holds now. */
  readonly instances: number;
  /** Environments built from the task and replayed because this replica did not hold them. */
  readonly rebuilds: number;
}

/**
 * Serve a domain's environments: one isolated instance per dialogue, created on its first tool
 * batch, dropped on `env-close` or after `idleMs` without calls. An instance is a cache: a replica
 * that lacks it (or holds a stale one) rebuilds it from the task and the request's `prior` calls,
 * so replicas can come and go mid-dialogue.
 */
export function serveEnvironment(
  nc: NatsConnection,
  o: { domain: string; from: Sender; open: (taskId: string) => DialogueEnvironment | Promise<DialogueEnvironment>; idleMs?: number },
): EnvService {
  const cache = new Map<string, { env: DialogueEnvironment; executed: number; usedAt: number }>();
  let rebuilds = 0;
  const idleMs = o.idleMs ?? 10 * 60_000;
  const sweep = setInterval(() => {
    const cutoff = Date.now() - idleMs;
    for (const [id, e] of cache) if (e.usedAt < cutoff) cache.delete(id);
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  const tools = serveRpc(nc, {
    subject: envToolsSubject(o.domain),
    queue: QUEUE.env(o.domain),
    reqDef: EnvToolsAsked,
    replyDef: EnvToolsAnswered,
    from: o.from,
    handler: async (req) => {
      let entry = cache.get(req.dialogueId);
      if (!entry || entry.executed !== req.prior.length) {
        const env = await o.open(req.taskId);
        for (const c of req.prior) await env.execute(c);
        if (entry || req.prior.length > 0) rebuilds++;
        entry = { env, executed: req.prior.length, usedAt: Date.now() };
        cache.set(req.dialogueId, entry);
      }
      const results: ToolMessage[] = [];
      for (const c of req.toolCalls) results.push(await entry.env.execute(c));
      entry.executed += req.toolCalls.length;
      entry.usedAt = Date.now();
      return { dialogueId: req.dialogueId, results };
    },
  });
  const close = serveRpc(nc, {
    subject: envCloseSubject(o.domain),
    reqDef: EnvClosed,
    from: o.from,
    handler: async (req) => {
      cache.delete(req.dialogueId);
    },
  });
  return {
    get handled() {
      return tools.handled;
    },
    get instances() {
      return cache.size;
    },
    get rebuilds() {
      return rebuilds;
    },
    async stop() {
      clearInterval(sweep);
      await Promise.all([tools.stop(), close.stop()]);
      cache.clear();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One dialogue with every role behind NATS
// ---------------------------------------------------------------------------------------------

export interface RemoteSceneInput {
  dialogueId: string;
  domain: string;
  taskId: string;
  trial?: number;
  seed?: number;
  messageHistory?: Message[];
  limits?: Partial<DialogueLimits>;
  onMessage?: (m: Message) => void;
}

/** Plays a scene from a RemoteSceneInput (actors/scene/play.ts); roles that play dialogues take one. */
export type PlayRemoteScene = (nc: NatsConnection, input: RemoteSceneInput, o: RemoteOptions) => Promise<DialogueResult>;
