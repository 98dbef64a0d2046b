// A synthesis role as the host wants it: an XState machine that invokes one async step on the item
// and emits every message the step returns, in order, then stops. The step gets the RoleInput, so
// instructions (with their revision), model and instance come from the host — after the item's run
// overrides were applied and its workflow parameters checked (resolveItemSettings).
import { enqueueActions, fromPromise, setup } from 'xstate';
import { trace } from '@opentelemetry/api';
import type { MessageDef } from '../../protocols/envelope.ts';
import { SynthRoleParamsSchema, type Provenance, type RunOverrides, type RunRevisions, type SynthRoleParams } from '../../protocols/synthesis.ts';
import { defineRole, type PublishEvent, type RoleDefinition, type RoleInput } from '../../runtime/host/role.ts';
import { LiveValueError } from '../../runtime/instructions/live.ts';
import { LlmClient, parseRoleModelConfig, roleModelConfigFromEnv, type RoleModelConfigInput } from '../../llm/client/index.ts';
import type { RoleContext } from '../../runtime/host/role.ts';

/**
 * The model client of a synthesis role hosted by `troupe worker` (`createRole`): the worker's
 * `--model ROLE=MODEL` if given (it wins over the environment's model), with the `TROUPE_<ROLE>_MODEL` / `_BASE_URL` / `_API_KEY_ENV`
 * environment; nothing set means the embedded local model, as in `troupe synth`. `base`: the role's
 * own defaults (sampling, reply budget), under the environment's.
 */
export function workerLlm(role: string, ctx: RoleContext, base: RoleModelConfigInput = {}): LlmClient {
  const env = roleModelConfigFromEnv(role, base);
  return new LlmClient({ role, config: ctx.model ? parseRoleModelConfig(role, { ...env, model: ctx.model }) : env });
}

export interface WorkRoleSpec<T> {
  name: string;
  impl: string;
  consumes: MessageDef<any>[];
  produces: MessageDef<any>[];
  concurrency?: number;
  timeoutMs?: number;
  run: (input: RoleInput<T>) => Promise<PublishEvent[]>;
}

export function workRole<T>(spec: WorkRoleSpec<T>): RoleDefinition {
  const machine = setup({
    types: { input: {} as RoleInput<T>, context: {} as { input: RoleInput<T> } },
    actors: { work: fromPromise(async ({ input }: { input: RoleInput<T> }) => spec.run(await resolveItemSettings(spec.name, input))) },
  }).createMachine({
    id: spec.name,
    context: ({ input }) => ({ input }),
    initial: 'working',
    states: {
      working: {
        invoke: {
          src: 'work',
          input: ({ context }) => context.input,
          onDone: {
            target: 'done',
            actions: enqueueActions(({ enqueue, event }) => {
              for (const o of event.output as PublishEvent[]) enqueue.emit(o as any);
            }),
          },
          onError: { target: 'failed' },
        },
      },
      done: { type: 'final' },
      failed: {
        entry: ({ event }) => {
          throw (event as { error?: unknown }).error ?? new Error(`${spec.name} failed`);
        },
      },
    },
  });
  return defineRole({
    name: spec.name,
    impl: spec.impl,
    version: '1',
    consumes: spec.consumes,
    produces: spec.produces,
    machine,
    concurrency: spec.concurrency ?? 2,
    timeoutMs: spec.timeoutMs,
  });
}

/** The run overrides an item carries: in its provenance, or (a run request) at the top level. */
export function itemOverrides(data: unknown): RunOverrides | undefined {
  const d = data as { provenance?: { overrides?: RunOverrides }; overrides?: RunOverrides } | null;
  return d?.provenance?.overrides ?? d?.overrides;
}

/** The lowest KV revisions an item's run may read (RunRevisionsSchema): in its provenance, or (a run request) at the top level. */
export function itemRevisions(data: unknown): RunRevisions | undefined {
  const d = data as { provenance?: { revisions?: RunRevisions }; revisions?: RunRevisions } | null;
  return d?.provenance?.revisions ?? d?.revisions;
}

/**
 * The settings this item runs with: when the item's run overrides this role's instructions or
 * parameters key, the current revision of that key (through the host's live view) replaces the
 * role's own; the parameters are then checked against SynthRoleParamsSchema. A missing override key
 * or an invalid value throws an error naming key and revision: the item fails (retried, then
 * dead-lettered) rather than silently running on defaults. When the run names a lower bound for the
 * key read (`revisions`) and the host's live view is behind it, the key is read again (LiveSource); a
 * host without a live view runs its fixed instructions, which no revision bound applies to.
 */
export async function resolveItemSettings<T>(role: string, input: RoleInput<T>): Promise<RoleInput<T>> {
  const o = itemOverrides(input.data);
  const revs = itemRevisions(input.data);
  let { instructions, params } = input;
  const ikey = o?.instructions?.[role] ?? instructions?.key ?? role;
  const iwant = revs?.[ikey];
  if (o?.instructions?.[role] || (input.live && iwant !== undefined && (instructions?.revision ?? 0) < iwant)) {
    if (!input.live) throw new Error(`${role}: the item's run overrides instructions with ${ikey}, but this host has no live instructions source`);
    const cur = await input.live.instructions(ikey, iwant);
    if (!cur) throw new Error(`${role}: ${o?.instructions?.[role] ? 'override ' : ''}key ${ikey} has no instructions`);
    instructions = { text: cur.text, revision: cur.revision, key: ikey };
  }
  const pkey = o?.params?.[role] ?? params?.key ?? `params.${role}`;
  const pwant = revs?.[pkey];
  if (o?.params?.[role] || (input.live && pwant !== undefined && (params?.revision ?? 0) < pwant)) {
    if (!input.live) throw new Error(`${role}: the item's run overrides parameters with ${pkey}, but this host has no live instructions source`);
    const cur = await input.live.value(pkey, SynthRoleParamsSchema, pwant);
    if (!cur) throw new Error(`${role}: ${o?.params?.[role] ? 'override ' : ''}key ${pkey} has no parameters`);
    params = { value: cur.value, revision: cur.revision, key: pkey };
  } else if (params) {
    const r = SynthRoleParamsSchema.safeParse(params.value);
    if (!r.success) {
      throw new LiveValueError(params.key ?? `params.${role}`, params.revision, `invalid ${role} parameters: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    params = { ...params, value: r.data };
  }
  return { ...input, instructions, params };
}

/** The item's checked workflow parameters (empty: every role default applies). */
export function roleParams(input: RoleInput<unknown>): SynthRoleParams {
  return (input.params?.value as SynthRoleParams | undefined) ?? {};
}

/**
 * Sampling seed for one LLM call of an item: with a run seed, base + a stable offset from the item's
 * place in the run (its id less the run id, so two runs with the same seed and plans sample alike)
 * + `salt` (call number, round, vote); without one, `fallback` (the role's own fixed seed, if any).
 */
export function itemSeed(prov: Pick<Provenance, 'seed' | 'runId' | 'itemId'>, salt: number, fallback?: number): number | undefined {
  if (prov.seed === undefined) return fallback;
  const place = prov.itemId.startsWith(`${prov.runId}-`) ? prov.itemId.slice(prov.runId.length + 1) : prov.itemId;
  let h = 2166136261;
  for (let i = 0; i < place.length; i++) h = Math.imul(h ^ place.charCodeAt(i), 16777619) >>> 0;
  return Math.abs(prov.seed + (h % 1_000_003) + salt) % 2_147_483_647;
}

/** Add this role's entry (impl, instance, model, instructions key and revision, params revision) to an item's provenance. */
export function stamp(prov: Provenance, input: RoleInput<unknown>, model: string | null, roleKey = input.role.name): Provenance {
  const ikey = input.instructions?.key;
  const pkey = input.params?.key;
  return {
    ...prov,
    traceId: prov.traceId ?? currentTraceId(),
    roles: {
      ...prov.roles,
      [roleKey]: {
        impl: input.role.impl,
        instance: input.role.instance,
        model,
        instructionsRevision: input.instructions?.revision ?? null,
        ...(ikey ? { instructionsKey: ikey } : {}),
        paramsRevision: input.params?.revision ?? null,
        ...(pkey && pkey !== `params.${input.role.name}` ? { paramsKey: pkey } : {}),
      },
    },
  };
}

export function currentTraceId(): string | null {
  const id = trace.getActiveSpan()?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : null;
}

/** Add tokens to an item's running total. */
export function addTokens(prov: Provenance, t: { prompt: number; completion: number }): Provenance {
  return { ...prov, tokens: { prompt: prov.tokens.prompt + t.prompt, completion: prov.tokens.completion + t.completion } };
}
