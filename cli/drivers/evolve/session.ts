// What `troupe evolve` and `troupe evolve --streams` share: the options both take and their checks,
// the plans file, the domain check, and the session they run in (run directory, tracing, NATS, the
// live synthesis society, the instructions bucket; all stopped on the way out or on a signal).
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EvaluationPlanSchema, SynthesisPlanSchema, type EvaluationPlan, type SynthesisPlan } from '../../../protocols/synthesis.ts';
import { natsCliOptions, natsSettingsFromFlags } from '../../../runtime/nats/connect.ts';
import { newRunId, openNatsSession, runDir as makeRunDir, type NatsSession } from '../../../runtime/nats/session.ts';
import { initTracing } from '../../../runtime/tracing/index.ts';
import { stopLocalModelServer } from '../../../llm/server/embedded.ts';
import type { KV } from '@nats-io/kv';
import type { DomainSpec } from '../../../domains/core/domain.ts';
import type { RolesConfig, SynthSociety } from '../synth/society.ts';

/** The parseArgs options of both commands (each adds its own, and its own `tasks-per-plan` default). */
export const evolveCommonOptions = {
  domain: { type: 'string' },
  rounds: { type: 'string', default: '2' },
  'validation-size': { type: 'string', default: '2' },
  'plans-file': { type: 'string' },
  alpha: { type: 'string', default: '0.5' },
  seed: { type: 'string', default: '1' },
  'no-evolve': { type: 'boolean' },
  'roles-config': { type: 'string' },
  'max-revisions': { type: 'string' },
  'timeout-min': { type: 'string', default: '60' },
  'run-id': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...natsCliOptions,
} as const;

/** An integer option, at least `min`. */
export function intOption(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min} (got "${v}")`);
  return n;
}

/** --rounds, --validation-size, --seed, --alpha, --timeout-min, checked. */
export function evolveCommonValues(values: { rounds: string; 'validation-size': string; seed: string; alpha: string; 'timeout-min': string }) {
  const rounds = intOption('rounds', values.rounds, 1);
  const validationSize = intOption('validation-size', values['validation-size'], 1);
  const seed = intOption('seed', values.seed, 0);
  const alpha = Number(values.alpha);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`--alpha must be a number in (0, 1) (got "${values.alpha}")`);
  const timeoutMin = Number(values['timeout-min']);
  if (!(timeoutMin > 0)) throw new Error(`--timeout-min must be a positive number (got "${values['timeout-min']}")`);
  return { rounds, validationSize, seed, alpha, timeoutMin };
}

export type PlanPair = { synthesis: SynthesisPlan; evaluation: EvaluationPlan };

/** --plans-file F: JSON [{"synthesis", "evaluation"}], at least one. */
export function readPlansFile(file: string | undefined): PlanPair[] | undefined {
  if (!file) return undefined;
  const parsed = z.array(z.object({ synthesis: SynthesisPlanSchema, evaluation: EvaluationPlanSchema })).min(1).safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`--plans-file ${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** The domain, known and with its τ² data (fail now, not inside a role, when the data is missing). */
export async function checkedDomain(name: string): Promise<DomainSpec> {
  const { getDomain, domainNames } = await import('../../../domains/registry.ts');
  if (!domainNames().includes(name)) throw new Error(`unknown domain "${name}" (known: ${domainNames().join(', ')})`);
  const domain = getDomain(name);
  domain.createEnvironment();
  return domain;
}

export interface EvolveSession {
  runId: string;
  dir: string;
  session: NatsSession;
  society: SynthSociety;
  kv: KV;
}

/**
 * Run `body` in a fresh run directory with tracing, a NATS session and the synthesis society
 * started on it; everything is stopped afterwards, and on SIGINT/SIGTERM (exit 130).
 * `command` names the command in messages (`troupe evolve`), `service` the tracing service and the
 * NATS connection's name prefix.
 */
export async function withEvolveSession(
  o: { command: string; service: string; natsName: string; runId?: string; flags: Record<string, unknown>; config: RolesConfig },
  body: (s: EvolveSession) => Promise<number>,
): Promise<number> {
  const { startSynthSociety } = await import('../synth/society.ts');
  const { openInstructions } = await import('../../../runtime/instructions/index.ts');
  const runId = o.runId ?? newRunId();
  const dir = makeRunDir(runId);
  process.env.TROUPE_RUN_DIR = dir;
  const tracing = initTracing({ serviceName: o.service, runDir: dir });
  const session = await openNatsSession(natsSettingsFromFlags(o.flags), { runDir: dir, name: `${o.natsName}-${runId}` });
  let society: SynthSociety | undefined;
  // An interrupted evolve (Ctrl-C, a bench killing it) still stops its embedded nats-server.
  const interrupted = (sig: NodeJS.Signals) => {
    console.error(`${o.command}: ${sig}, stopping`);
    // Draining waits for in-flight model calls: give it a few seconds, then go regardless.
    setTimeout(() => process.exit(130), 5000).unref();
    void Promise.allSettled([society?.stop(), session.close(), stopLocalModelServer()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    society = await startSynthSociety({ nc: session.nc, config: o.config, log: (l) => process.stderr.write(`${l}\n`) });
    const kv = await openInstructions(session.nc);
    return await body({ runId, dir, session, society, kv });
  } finally {
    await society?.stop().catch(() => {});
    await session.close();
    await stopLocalModelServer().catch(() => {});
    await tracing.shutdown().catch(() => {});
    setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  }
}
