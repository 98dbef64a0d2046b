// The data society in one process over NATS: every synthesis role hosted on its JetStream subjects
// (meta-planner, scriptwriter, critic, verifier, rollout, dataset), instructions read from the KV
// bucket (seeded with the defaults) and followed live — every item runs with the revisions of its
// role's instructions and `params.<role>` current when it starts (or its run's override keys) — and
// one run requested and followed to the end.
import type { NatsConnection } from '@nats-io/transport-node';
import { Bus, defaultSender } from '../../../runtime/nats/bus.ts';
import { RoleHost } from '../../../runtime/host/host.ts';
import type { RoleDefinition } from '../../../runtime/host/role.ts';
import { LiveKeys, openInstructions, seedInstructions, valueKey } from '../../../runtime/instructions/index.ts';
import { getDomain } from '../../../domains/registry.ts';
import type { DomainSpec } from '../../../domains/core/domain.ts';
import { metaPlannerRole } from '../../../actors/meta-planner/role.ts';
import { scriptwriterRole } from '../../../actors/scriptwriter/role.ts';
import { criticModeFromEnv, criticRole, openAcceptedTasks } from '../../../actors/critic/role.ts';
import { rolloutPlayers } from './players.ts';
import { clientFor, type RolesConfig } from './roles-config.ts';
import { verifierRole } from '../../../actors/verifier/role.ts';
import { rolloutRole } from '../../../actors/scene/rollout.ts';
import { datasetRole, ensureDatasetStream } from '../../../actors/dataset/role.ts';
import { DEFAULT_INSTRUCTIONS, SYNTH_LLM_ROLES } from '../../../actors/kit/instructions.ts';
import { followRun, type RunOptions } from '../../../actors/kit/follow-run.ts';

export { followRun, type RunOptions };

export { RolesConfigSchema, loadRolesConfig, clientFor, type RolesConfig } from './roles-config.ts';

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
  const { agent, players } = rolloutPlayers(config, { actor: clients.actor, user: clients['user-simulator'] });
  const roles: { def: RoleDefinition; instructions?: { text: string; revision: number }; model?: string }[] = [
    { def: metaPlannerRole({ domain, llm: clients['meta-planner'] }), instructions: instr['meta-planner'], model: clients['meta-planner'].config.model },
    { def: scriptwriterRole({ domain, llm: clients.scriptwriter, exploration: config.exploration }), instructions: instr.scriptwriter, model: clients.scriptwriter.config.model },
    { def: criticRole({ domain, llm: clients.critic, accepted, ...criticModeFromEnv({ TROUPE_CRITIC_REVIEW: config.criticReview }) }), instructions: instr.critic, model: clients.critic.config.model },
    { def: verifierRole({ domain, llm: clients.verifier, checkerMode: config.checkerMode, dialogueGrounding: config.dialogueGrounding }), instructions: instr.verifier, model: clients.verifier.config.model },
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
      const host = new RoleHost({ bus: new Bus(nc, { ...sender, instance, impl: r.def.impl }), role: r.def, instance, instructions: r.instructions, live: follow, model: r.model, ackWaitMs: config.ackWaitMs, log: o.log });
      await host.start();
      hosts.push(host);
    }
  }
  return {
    hosts,
    models: Object.fromEntries(Object.entries(clients).map(([k, c]) => [k, k === 'actor' && agent === 'oracle' ? 'oracle-teacher' : c.config.model])),
    instructions: Object.fromEntries(Object.entries(instr).map(([k, v]) => [k, v.revision])),
    live,
    async stop() {
      await Promise.all(hosts.map((h) => h.drain()));
      live.close();
    },
  };
}
