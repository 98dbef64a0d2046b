// Per-role model configuration. A role names a model and, for anything but the embedded default,
// the OpenAI-compatible endpoint serving it. The API key is never stored here: only the *name* of the
// environment variable holding it, read at call time, so configs and spans can be logged freely.
import { z } from 'zod';
import { LlmConfigError } from './errors.ts';

/** The model name meaning "the embedded local model server" (started on demand, shared by roles). */
export const LOCAL_MODEL = 'local';

export const RoleModelConfigSchema = z.object({
  /** Model id sent to the endpoint, or "local" for the embedded server. */
  model: z.string().min(1).default(LOCAL_MODEL),
  /** Endpoint base URL, e.g. https://api.openai.com/v1 or http://gpu-box:8000/v1. Unused for "local". */
  baseURL: z.url().optional(),
  /** Name of the environment variable holding the API key (e.g. "OPENAI_API_KEY"). */
  apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  temperature: z.number().min(0).max(2).optional(),
  seed: z.number().int().optional(),
  maxTokens: z.number().int().positive().optional(),
  /** Ask for each sampled token's log-probability (and id, from our model server): GRPO's behaviour policy. */
  logprobs: z.boolean().optional(),
  /** Per-attempt request timeout. */
  timeoutMs: z.number().int().positive().default(120_000),
  /** Retries after the first attempt on 429 / 5xx / timeouts / connection errors. */
  maxRetries: z.number().int().min(0).default(4),
  /** In-flight requests allowed per endpoint (shared by every role using the same base URL). */
  concurrency: z.number().int().positive().default(8),
});

export type RoleModelConfig = z.output<typeof RoleModelConfigSchema>;
export type RoleModelConfigInput = z.input<typeof RoleModelConfigSchema>;

/** Validate a role's model config; the error names the role and the offending fields. */
export function parseRoleModelConfig(role: string, input: unknown): RoleModelConfig {
  const res = RoleModelConfigSchema.safeParse(input ?? {});
  if (!res.success) {
    const issues = res.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LlmConfigError(`invalid model config for role "${role}": ${issues}`);
  }
  if (res.data.model !== LOCAL_MODEL && !res.data.baseURL) {
    throw new LlmConfigError(`model config for role "${role}" names model "${res.data.model}" but no baseURL (use model "local" for the embedded server)`);
  }
  return res.data;
}

/**
 * Config of a role from the environment, layered over `base`:
 *   TROUPE_<ROLE>_MODEL / _BASE_URL / _API_KEY_ENV, else TROUPE_MODEL / TROUPE_BASE_URL / TROUPE_API_KEY_ENV.
 * With nothing set the role uses the embedded local model.
 */
export function roleModelConfigFromEnv(role: string, base: RoleModelConfigInput = {}, env: NodeJS.ProcessEnv = process.env): RoleModelConfig {
  const prefix = `TROUPE_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`;
  const pick = (key: string) => env[prefix + key] ?? env[`TROUPE_${key}`];
  const merged: Record<string, unknown> = { ...base };
  const model = pick('MODEL');
  const baseURL = pick('BASE_URL');
  const apiKeyEnv = pick('API_KEY_ENV');
  if (model) merged.model = model;
  if (baseURL) merged.baseURL = baseURL;
  if (apiKeyEnv) merged.apiKeyEnv = apiKeyEnv;
  return parseRoleModelConfig(role, merged);
}

/** The API key for a config, read now from its env var. Local/keyless endpoints get a placeholder. */
export function resolveApiKey(role: string, config: RoleModelConfig, env: NodeJS.ProcessEnv = process.env): string {
  if (!config.apiKeyEnv) return 'not-needed';
  const key = env[config.apiKeyEnv];
  if (!key) throw new LlmConfigError(`role "${role}": environment variable ${config.apiKeyEnv} (its API key) is not set`);
  return key;
}
