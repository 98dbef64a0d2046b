// Role instructions (prompts) as data: one key per role in a KV bucket, every write a new revision,
// with a small lineage record (who wrote it, from which parent revision, why).
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { INSTRUCTIONS_BUCKET } from '../../protocols/subjects.ts';
import { storeReplicas } from '../nats/streams.ts';

export const InstructionsValueSchema = z.object({
  text: z.string(),
  author: z.string(),
  /** Revision this one was derived from (lineage), if any. */
  parent: z.number().int().optional(),
  note: z.string().optional(),
  at: z.number(),
  /** Why this revision was written (lineage; see lineage.ts). Older values carry only `note`. */
  rationale: z.string().optional(),
  /** Ids of the failures (failure reports, rejected drafts, dialogues) that motivated it. */
  failures: z.array(z.string()).optional(),
  /** How it came about: a plain write, a rollback to an earlier revision, an evolver promotion. */
  action: z.enum(['set', 'rollback', 'promote']).optional(),
  /** For a rollback: the revision whose text this one restores. */
  restores: z.number().int().optional(),
});
export type InstructionsValue = z.infer<typeof InstructionsValueSchema>;
export interface Instructions extends InstructionsValue {
  role: string;
  revision: number;
}

export async function openInstructions(nc: NatsConnection): Promise<KV> {
  return new Kvm(nc).create(INSTRUCTIONS_BUCKET, { history: 64, storage: 'file' as any, replicas: storeReplicas(nc) });
}

function decode(role: string, revision: number, json: unknown): Instructions {
  return { role, revision, ...InstructionsValueSchema.parse(json) };
}

export async function getInstructions(kv: KV, role: string, revision?: number): Promise<Instructions | null> {
  const e = await kv.get(role, revision ? { revision } : undefined);
  if (!e || e.operation !== 'PUT') return null;
  return decode(role, e.revision, e.json());
}

/** Write a new revision; returns it. `parent` defaults to the current revision. */
export async function setInstructions(
  kv: KV,
  role: string,
  text: string,
  meta: { author: string; note?: string; parent?: number; rationale?: string; failures?: string[]; action?: InstructionsValue['action']; restores?: number },
): Promise<Instructions> {
  const current = meta.parent ?? (await getInstructions(kv, role))?.revision;
  const value: InstructionsValue = {
    text,
    author: meta.author,
    parent: current,
    note: meta.note,
    at: Date.now(),
    rationale: meta.rationale,
    failures: meta.failures,
    action: meta.action,
    restores: meta.restores,
  };
  const revision = await kv.put(role, JSON.stringify(value));
  return { role, revision, ...value };
}

/**
 * Write the first revision of a key that has none (never written, or deleted); leave an existing one
 * alone. Safe when several hosts start at once: the bucket's create is atomic, so one wins and the
 * others read its revision. Returns the current instructions either way.
 */
export async function seedInstructions(kv: KV, role: string, text: string, meta: { author: string; note?: string }): Promise<Instructions> {
  const existing = await getInstructions(kv, role);
  if (existing) return existing;
  const value: InstructionsValue = { text, author: meta.author, note: meta.note, at: Date.now() };
  try {
    const revision = await kv.create(role, JSON.stringify(value));
    return { role, revision, ...value };
  } catch {
    const now = await getInstructions(kv, role);
    if (!now) throw new Error(`instructions: cannot seed ${role}, and it has no value`);
    return now;
  }
}

/** All stored revisions of a role's instructions, oldest first. */
export async function instructionsHistory(kv: KV, role: string): Promise<Instructions[]> {
  const out: Instructions[] = [];
  for await (const e of await kv.history({ key: role })) {
    if (e.operation === 'PUT') out.push(decode(role, e.revision, e.json()));
  }
  return out;
}

/** Call `onChange` with every new revision of `role` (not the current one). Returns a stop function. */
export async function watchInstructions(kv: KV, role: string, onChange: (i: Instructions) => void): Promise<() => void> {
  const it = await kv.watch({ key: role, include: 'updates' as any });
  (async () => {
    for await (const e of it) {
      if (e.operation === 'PUT') {
        try {
          onChange(decode(role, e.revision, e.json()));
        } catch (err) {
          console.error(`instructions: bad value for ${role}@${e.revision}: ${(err as Error).message}`);
        }
      }
    }
  })();
  return () => it.stop();
}
