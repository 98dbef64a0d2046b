// The evolver as a hosted role (`troupe worker --roles evolver`, or a society config naming it): it
// consumes `evolver.run.requested`, runs its round machine (machine.ts) against the society it lives
// in — production and validation runs are synthesis runs it submits over NATS (run.ts), candidates
// and promotions are revisions in the instructions bucket — and publishes `evolver.run.completed`.
// Each round is also published as `evolver.round.completed` while the session runs.
//
//   checking ─► evolving (the round machine, invoked as a child) ─► reporting ─► done
//      │ refused: unknown domain, role or proposal kind             ▲
//      └────────────────────────────────────────────────────────────┘ (the error is the report)
//
// A session that stops on an error is reported, not retried: a retry would replay whole synthesis
// runs. A session whose worker dies is redelivered and starts again from round 1 under the same run
// ids (its synthesis runs' requests are deduplicated by the stream within the dedupe window).
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { assign, emit, setup } from 'xstate';
import { EvolverRunCompleted, EvolverRunRequested, EvolverRoundCompleted, type EvolverRunRequest, type EvolverRunResult } from '../../protocols/evolver.ts';
import { SynthRunRequested } from '../../protocols/synthesis.ts';
import { defineRole, output, type RoleContext, type RoleDefinition, type RoleInput } from '../../runtime/host/role.ts';
import { openInstructions } from '../../runtime/instructions/index.ts';
import { domainNames } from '../../domains/registry.ts';
import type { LlmClient } from '../../llm/client/index.ts';
import { workerLlm } from '../kit/work-role.ts';
import { EVOLVABLE_ROLES, type EvolvableRole } from './failures.ts';
import { PROPOSAL_KINDS, type ProposalKind } from './params.ts';
import { evolverMachine, type EvolveResult } from './machine.ts';
import type { EvolveConfig, EvolverEnv } from './steps.ts';

export interface EvolverRoleDeps {
  nc: NatsConnection;
  kv: KV;
  /** The evolver's own model (instructions rewrites). */
  llm: LlmClient;
  log?: (line: string) => void;
}

/** Why a request cannot run, or null. */
export function refusal(req: EvolverRunRequest): string | null {
  if (!domainNames().includes(req.domain)) return `unknown domain "${req.domain}" (known: ${domainNames().join(', ')})`;
  for (const r of req.roles ?? []) if (!(EVOLVABLE_ROLES as readonly string[]).includes(r)) return `"${r}" is not a role the evolver rewrites (${EVOLVABLE_ROLES.join(', ')})`;
  for (const k of req.kinds ?? []) if (!(PROPOSAL_KINDS as readonly string[]).includes(k)) return `"${k}" is not a proposal kind (${PROPOSAL_KINDS.join(', ')})`;
  return null;
}

export function configOf(req: EvolverRunRequest, instance: string): EvolveConfig {
  return {
    sessionId: req.sessionId,
    domain: req.domain,
    rounds: req.rounds,
    plans: req.plans,
    tasksPerPlan: req.tasksPerPlan,
    validationSize: req.validationSize,
    maxRevisions: req.maxRevisions,
    seed: req.seed,
    timeoutMs: req.timeoutMs,
    evolve: req.evolve,
    samePlans: req.samePlans,
    fixedPlans: req.fixedPlans,
    roles: (req.roles ?? EVOLVABLE_ROLES) as readonly EvolvableRole[],
    kinds: (req.kinds ?? PROPOSAL_KINDS) as readonly ProposalKind[],
    z: req.z,
    archiveSize: req.archiveSize,
    reflectAttempts: req.reflectAttempts,
    instance,
  };
}

/** The session's report: a line per round, and why it stopped when it did not finish. */
export function runResult(req: EvolverRunRequest, r: EvolveResult): EvolverRunResult {
  return {
    sessionId: req.sessionId,
    domain: req.domain,
    rounds: r.records.map((x) => ({ round: x.round, target: x.target, ...(x.kind ? { kind: x.kind } : {}), outcome: x.outcome, reason: x.reason, production: { items: x.production.summary.items, passed: x.production.summary.dialoguePassed }, liveRevision: x.liveRevision })),
    ...(r.error ? { error: r.error } : {}),
  };
}

interface Ctx {
  input: RoleInput<EvolverRunRequest>;
  result?: EvolveResult;
}

export function evolverRoleMachine(deps: EvolverRoleDeps) {
  const log = deps.log ?? ((l: string) => console.error(l));
  return setup({
    types: { input: {} as RoleInput<EvolverRunRequest>, context: {} as Ctx },
    actors: { rounds: evolverMachine },
    guards: { acceptable: ({ context }) => refusal(context.input.data) === null },
  }).createMachine({
    id: 'evolver-role',
    context: ({ input }) => ({ input }),
    initial: 'checking',
    states: {
      checking: {
        always: [
          { guard: 'acceptable', target: 'evolving' },
          { target: 'reporting', actions: assign({ result: ({ context }) => ({ records: [], error: `refused: ${refusal(context.input.data)}` }) }) },
        ],
      },
      evolving: {
        entry: ({ context }) => log(`[${context.input.role.instance}] evolve session ${context.input.data.sessionId}: ${context.input.data.rounds} round(s) on ${context.input.data.domain}`),
        invoke: {
          src: 'rounds',
          input: ({ context }) => {
            const env: EvolverEnv = { nc: deps.nc, kv: deps.kv, llm: deps.llm, log };
            return { cfg: configOf(context.input.data, context.input.role.instance), env };
          },
          onDone: { target: 'reporting', actions: assign({ result: ({ event }) => event.output as EvolveResult }) },
          onError: { target: 'reporting', actions: assign({ result: ({ event }) => ({ records: [], error: String((event.error as Error)?.message ?? event.error) }) }) },
        },
      },
      reporting: {
        entry: emit(({ context }) => output(EvolverRunCompleted, runResult(context.input.data, context.result!))),
        always: 'done',
      },
      done: { type: 'final' },
    },
  });
}

export function evolverRole(deps: EvolverRoleDeps): RoleDefinition {
  return defineRole({
    name: 'evolver',
    impl: 'evolver@1',
    version: '1',
    consumes: [EvolverRunRequested],
    produces: [EvolverRunCompleted, EvolverRoundCompleted, SynthRunRequested],
    machine: evolverRoleMachine(deps),
    // One session at a time: sessions would compete for the same candidate keys.
    concurrency: 1,
    timeoutMs: 7 * 24 * 3_600_000,
  });
}

/**
 * The evolver as `troupe worker --roles evolver` hosts it: its model from `--model evolver=M` or
 * TROUPE_EVOLVER_MODEL / _BASE_URL / _API_KEY_ENV (default: the embedded local model).
 */
export async function createRole(ctx: RoleContext): Promise<RoleDefinition> {
  return evolverRole({ nc: ctx.nc, kv: await openInstructions(ctx.nc), llm: workerLlm('evolver', ctx) });
}
