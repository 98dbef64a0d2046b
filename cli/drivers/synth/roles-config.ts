// `--roles-config FILE` of `troupe synth` (and TROUPE_ROLES_CONFIG of a hosted synthesis role): the
// models, players and modes of the synthesis roles.
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { LlmClient, RoleModelConfigSchema, roleModelConfigFromEnv } from '../../../llm/client/index.ts';

/** `--roles-config FILE` (JSON or TOML). Every field optional. */
export const RolesConfigSchema = z.object({
  /** Model config per role (`meta-planner`, `scriptwriter`, `critic`, `verifier`, `actor`, `user-simulator`), or `default`. */
  models: z.record(z.string(), RoleModelConfigSchema.partial()).default({}),
  /**
   * Who plays the agent in rollouts: the LLM agent, or the gold-action teacher (oracle). Unset: the
   * teacher on the embedded model (too small to complete a task), the LLM agent on a real endpoint.
   */
  actor: z.enum(['llm', 'oracle']).optional(),
  /**
   * How the user simulator opens synthesis dialogues (UserOpening in actors/kit/ports.ts). Unset:
   * `scenario` on the embedded model (it cannot state its own task), `model` on a real endpoint.
   */
  userOpening: z.enum(['model', 'scenario']).optional(),
  /** `require`: the verifier also fails a dialogue whose agent wrote values nobody said (see VerifierDeps). */
  dialogueGrounding: z.enum(['require', 'off']).default('require'),
  maxRevisions: z.number().int().min(0).default(1),
  /**
   * `off`: the critic judges by its deterministic checks only; `advisory`: the model reviews but never
   * vetoes; `veto`: its revise/reject stands when a reason cites a policy rule or a check; `llm`: by
   * model (advisory on the embedded model, veto elsewhere).
   */
  criticReview: z.enum(['llm', 'off', 'advisory', 'veto']).default('llm'),
  /** How the verifier's model writes checkers: a check spec it picks (compiled), or JavaScript code. */
  checkerMode: z.enum(['spec', 'code']).default('spec'),
  /** How the scriptwriter explores: its model calls read tools (scripted exploration as fallback), or the scripted exploration only. */
  exploration: z.enum(['model', 'scripted']).default('model'),
  maxSteps: z.number().int().positive().default(30),
  /** Per-dialogue wall-clock limit. */
  dialogueTimeoutMs: z.number().int().positive().optional(),
  /** Unacked work goes back to the stream after this long (default 30 s): how soon a resumed run picks up what a killed one held. */
  ackWaitMs: z.number().int().positive().optional(),
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

