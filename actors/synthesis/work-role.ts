// A synthesis role as the host wants it: an XState machine that invokes one async step on the item
// and emits every message the step returns, in order, then stops. The step gets the RoleInput, so
// instructions (with their revision), model and instance come from the host.
import { enqueueActions, fromPromise, setup } from 'xstate';
import { trace } from '@opentelemetry/api';
import type { MessageDef } from '../../protocols/envelope.ts';
import type { Provenance } from '../../protocols/synthesis.ts';
import { defineRole, type PublishEvent, type RoleDefinition, type RoleInput } from '../../runtime/host/role.ts';

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
    actors: { work: fromPromise(async ({ input }: { input: RoleInput<T> }) => spec.run(input)) },
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

/** Add this role's entry (impl, instance, model, instructions revision) to an item's provenance. */
export function stamp(prov: Provenance, input: RoleInput<unknown>, model: string | null, roleKey = input.role.name): Provenance {
  return {
    ...prov,
    traceId: prov.traceId ?? currentTraceId(),
    roles: {
      ...prov.roles,
      [roleKey]: { impl: input.role.impl, instance: input.role.instance, model, instructionsRevision: input.instructions?.revision ?? null },
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
