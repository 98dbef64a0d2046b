// The society config file (`troupe up --config FILE`, JSON): which roles, how many replicas, which
// implementation, model and instructions each one uses.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ROLE_PATTERN } from '../../protocols/subjects.ts';

export const RoleConfigSchema = z.object({
  /** Module path of the implementation (default: the role catalog's module). */
  impl: z.string().optional(),
  replicas: z.number().int().min(1).max(64).default(1),
  model: z.string().optional(),
  /** File whose text becomes the role's instructions (a new revision if it differs). */
  instructions: z.string().optional(),
  concurrency: z.number().int().min(1).max(1024).optional(),
});
export type RoleConfig = z.infer<typeof RoleConfigSchema>;

export const SocietyConfigSchema = z.object({
  roles: z.record(z.string().regex(ROLE_PATTERN, 'role names are lowercase words joined by dashes'), RoleConfigSchema),
  /** Unacked work is redelivered after this long (ms). */
  ackWaitMs: z.number().int().min(100).optional(),
  maxDeliver: z.number().int().min(1).optional(),
  /** gRPC control plane port (0 = any free port; default 7420). */
  controlPort: z.number().int().min(0).max(65535).optional(),
  /** Where the control plane listens and how (default: loopback, plaintext). */
  control: z
    .object({
      /** Bind address (default 127.0.0.1). Beyond loopback, give `tls` too. */
      host: z.string().min(1).optional(),
      /** PEM files: the server's certificate chain and key; `ca` (default: `cert`) is what clients trust. */
      tls: z.object({ cert: z.string().min(1), key: z.string().min(1), ca: z.string().min(1).optional() }).optional(),
    })
    .optional(),
});
export type SocietyConfig = z.infer<typeof SocietyConfigSchema>;
export type SocietyConfigInput = z.input<typeof SocietyConfigSchema>;

/**
 * A bare `troupe up`: every role of the table it is handed (the CLI's role table), one replica each,
 * on the embedded defaults. The runtime names no role: a role added to the table is in the default
 * society without a change here. `only` narrows it to some roles (what `troupe synth` needs).
 */
export function defaultSocietyConfig(catalog: Readonly<Record<string, unknown>>, only?: readonly string[]): SocietyConfig {
  const names = Object.keys(catalog).filter((r) => !only || only.includes(r));
  const missing = (only ?? []).filter((r) => !Object.hasOwn(catalog, r));
  if (missing.length) throw new Error(`roles not in the role table: ${missing.join(', ')}`);
  return parseSocietyConfig({ roles: Object.fromEntries(names.map((r) => [r, {}])) } satisfies SocietyConfigInput, 'default config');
}

export function parseSocietyConfig(raw: unknown, source = 'config'): SocietyConfig {
  const r = SocietyConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export function loadSocietyConfig(file: string): SocietyConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read society config ${file}: ${(err as Error).message}`);
  }
  return parseSocietyConfig(raw, file);
}
