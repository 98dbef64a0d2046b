// The data society in one process over NATS: every synthesis role hosted on its JetStream subjects
// (meta-planner, scriptwriter, critic, verifier, rollout, dataset), instructions read from the KV
// bucket (seeded with the defaults) and followed live — every item runs with the revisions of its
// role's instructions and `params.<role>` current when it starts (or its run's override keys) — and
// one run requested and followed to the end.
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { decodeEnvelope, type Envelope } from '../../../protocols/envelope.ts';
import { SynthRunRequested, type SynthRunRequest } from '../../../protocols/synthesis.ts';
import { MESSAGE_PREFIX } from '../../../protocols/subjects.ts';
import { Bus, defaultSender } from '../../../runtime/nats/bus.ts';
import { RoleHost } from '../../../runtime/host/host.ts';
import type { RoleDefinition } from '../../../runtime/host/role.ts';
import { LiveKeys, openInstructions, seedInstructions, valueKey } from '../../../runtime/instructions/index.ts';
import { LlmClient, RoleModelConfigSchema, roleModelConfigFromEnv } from '../../../llm/client/index.ts';
import { withSpan } from '../../../runtime/tracing/index.ts';
import { getDomain } from '../../../domains/registry.ts';
import type { DomainSpec } from '../../../domains/core/domain.ts';
import type { Task } from '../../../protocols/tau2/task.ts';
import { createDomainAgent } from '../../../actors/actor/for-domain.ts';
import { createTaskUser } from '../../../actors/user-simulator/for-task.ts';
import { createOracleAgent } from '../../../actors/actor/oracle-agent.ts';
import { llmClientChatModel } from '../../../actors/kit/llm-chat-model.ts';
import { metaPlannerRole } from '../../../actors/meta-planner/role.ts';
import { scriptwriterRole } from '../../../actors/scriptwriter/role.ts';
import { criticRole, openAcceptedTasks } from '../../../actors/critic/role.ts';
import { verifierRole } from '../../../actors/verifier/role.ts';
import { GOLD_REFUSAL } from '../../../actors/verifier/checker.ts';
import { rolloutRole, type RolloutPlayers } from '../../../actors/scene/rollout.ts';
import { datasetRole, ensureDatasetStream } from '../../../actors/dataset/role.ts';
import { DEFAULT_INSTRUCTIONS, SYNTH_LLM_ROLES } from '../../../actors/kit/instructions.ts';
import { FunnelCounter, type FunnelSummary } from '../../../actors/kit/funnel.ts';
import { followRun, type RunOptions } from '../../../actors/kit/follow-run.ts';

export { followRun, type RunOptions };

/** `--roles-config FILE` (JSON or TOML). Every field optional. */
export const RolesConfigSchema = z.object({
  /** Model config per role (`meta-planner`, `scriptwriter`, `critic`, `verifier`, `actor`, `user-simulator`), or `default`. */
  models: z.record(z.string(), RoleModelConfigSchema.partial()).default({}),
  /** Who plays the agent in rollouts: the LLM agent, or the gold-replaying oracle (a test harness). */
  actor: z.enum(['llm', 'oracle']).default('llm'),
  maxRevisions: z.number().int().min(0).default(1),
  /** `off`: the critic judges by its deterministic checks only. */
  criticReview: z.enum(['llm', 'off']).default('llm'),
  /** How the verifier's model writes checkers: a check spec it picks (compiled), or JavaScript code. */
  checkerMode: z.enum(['spec', 'code']).default('spec'),
  /** How the scriptwriter explores: its model calls read tools (scripted exploration as fallback), or the scripted exploration only. */
  exploration: z.enum(['model', 'scripted']).default('model'),
  maxSteps: z.number().int().positive().default(30),
  /** Per-dialogue wall-clock limit. */
  dialogueTimeoutMs: z.number().int().positive().optional(),
  /** Replicas (in this process) per role. */
  replicas: z.record(z.string(), z.number().int().positive()).default({}),
});
export type RolesConfig = z.infer<typeof RolesConfigSchema>;

export function loadRolesConfig(path?: string): RolesConfig {
  if (!path) return RolesConfigSchema.parse({});
  const text = readFileSync(path, 'utf8');
  let raw: unknown;
  try {
    raw = path.endsWith('.toml') ? parseToml(text) : JSON.parse(text);
  } catch (err) {
    throw new Error(`roles config ${path} is not valid ${path.endsWith('.toml') ? 'TOML' : 'JSON'}: ${(err as Error).message}`);
  }
  const r = RolesConfigSchema.safeParse(raw);
  if (!r.success) throw new Error(`roles config ${path}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

const ROLE_DEFAULTS: Record<string, { temperature?: number; maxTokens?: number }> = {
  actor: { temperature: 0, maxTokens: 200 },
  'user-simulator': { temperature: 0, maxTokens: 120 },
};

export function clientFor(cfg: RolesConfig, role: string): LlmClient {
  const base = { ...(ROLE_DEFAULTS[role] ?? {}), ...(cfg.models.default ?? {}), ...(cfg.models[role] ?? {}) };
  return new LlmClient({ role, config: roleModelConfigFromEnv(role, base) });
}

export interface SynthSocietyOptions {
  nc: NatsConnection;
  config: RolesConfig;
  log?: (line: string) => void;
}

export interface SynthSociety {
  hosts: RoleHost[];
  models: Record<string, string>;
  /** Instructions revision of each LLM role when the society started (items use the current one). */
  instructions: Record<string, number>;
  /** The live view of the instructions bucket the hosts read per item. */
  live: LiveKeys;
  stop(): Promise<void>;
}

/** Seed default instructions where a role has none; return the current revision of each. */
export async function ensureInstructions(nc: NatsConnection): Promise<Record<string, { text: string; revision: number }>> {
  const kv = await openInstructions(nc);
  const out: Record<string, { text: string; revision: number }> = {};
  for (const role of SYNTH_LLM_ROLES) {
    const cur = await seedInstructions(kv, role, DEFAULT_INSTRUCTIONS[role], { author: 'troupe-synth-defaults', note: 'default instructions' });
    out[role] = { text: cur.text, revision: cur.revision };
  }
  return out;
}

export async function startSynthSociety(o: SynthSocietyOptions): Promise<SynthSociety> {
  const { nc, config } = o;
  await ensureDatasetStream(nc);
  const instr = await ensureInstructions(nc);
  const live = new LiveKeys(await openInstructions(nc), o.log);
  const accepted = await openAcceptedTasks(nc);
  const domain = (name: string): DomainSpec => getDomain(name);
  const clients = Object.fromEntries(['meta-planner', 'scriptwriter', 'critic', 'verifier', 'actor', 'user-simulator'].map((r) => [r, clientFor(config, r)]));
  const agentModel = llmClientChatModel(clients.actor);
  const userModel = llmClientChatModel(clients['user-simulator']);
  const players = (d: DomainSpec, task: Task): RolloutPlayers => ({
    // A refusal task's gold answer is the refusal (its τ² criteria state it as an NL assertion).
    agent: config.actor === 'oracle' ? createOracleAgent(task, /^The agent refuses/.test(task.evaluation_criteria?.nl_assertions?.[0] ?? '') ? { closing: GOLD_REFUSAL } : {}) : createDomainAgent(d, agentModel, { temperature: clients.actor.config.temperature, maxTokens: clients.actor.config.maxTokens }),
    user: createTaskUser(d, task, userModel, { temperature: clients['user-simulator'].config.temperature, maxTokens: clients['user-simulator'].config.maxTokens }),
    agentInfo: config.actor === 'oracle' ? { impl: 'oracle-harness@1', model: null } : { impl: 'actor-llm@1', model: clients.actor.config.model },
    userInfo: { impl: 'user-simulator-llm@1', model: clients['user-simulator'].config.model },
  });
  const roles: { def: RoleDefinition; instructions?: { text: string; revision: number }; model?: string }[] = [
    { def: metaPlannerRole({ domain, llm: clients['meta-planner'] }), instructions: instr['meta-planner'], model: clients['meta-planner'].config.model },
    { def: scriptwriterRole({ domain, llm: clients.scriptwriter, exploration: config.exploration }), instructions: instr.scriptwriter, model: clients.scriptwriter.config.model },
    { def: criticRole({ domain, llm: clients.critic, accepted, review: config.criticReview === 'llm' }), instructions: instr.critic, model: clients.critic.config.model },
    { def: verifierRole({ domain, llm: clients.verifier, checkerMode: config.checkerMode }), instructions: instr.verifier, model: clients.verifier.config.model },
    { def: rolloutRole({ domain, players, maxSteps: config.maxSteps, timeoutMs: config.dialogueTimeoutMs }) },
    { def: datasetRole(nc) },
  ];
  const hosts: RoleHost[] = [];
  for (const r of roles) {
    for (let i = 0; i < (config.replicas[r.def.name] ?? 1); i++) {
      const sender = defaultSender(r.def.name);
      const instance = `${sender.instance}-${i}`;
      // LLM roles follow their keys live; rollout and dataset read no instructions.
      const follow = r.instructions ? { source: live, instructionsKey: r.def.name, paramsKey: valueKey('params', r.def.name) } : undefined;
      const host = new RoleHost({ bus: new Bus(nc, { ...sender, instance, impl: r.def.impl }), role: r.def, instance, instructions: r.instructions, live: follow, model: r.model, log: o.log });
      await host.start();
      hosts.push(host);
    }
  }
  return {
    hosts,
    models: Object.fromEntries(Object.entries(clients).map(([k, c]) => [k, k === 'actor' && config.actor === 'oracle' ? 'oracle-harness' : c.config.model])),
    instructions: Object.fromEntries(Object.entries(instr).map(([k, v]) => [k, v.revision])),
    live,
    async stop() {
      await Promise.all(hosts.map((h) => h.drain()));
      live.close();
    },
  };
}
