// The live instructions cache (runtime/instructions/live.ts) over a real nats-server and KV bucket,
// and the pure pieces of per-item settings: params validation, run overrides, tier quotas, critic
// votes, per-item seeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { z } from 'zod';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { LiveKeys, LiveValueError, openInstructions, putValue, setInstructions } from '../../runtime/instructions/index.ts';
import { INSTRUCTIONS_BUCKET } from '../../protocols/subjects.ts';
import { SynthRoleParamsSchema, SynthRunRequestSchema } from '../../protocols/synthesis.ts';
import { itemSeed, resolveItemSettings } from '../../actors/kit/work-role.ts';
import { tierSlots } from '../../actors/meta-planner/plans.ts';
import { majorityVerdict } from '../../actors/critic/role.ts';
import type { RoleInput } from '../../runtime/host/role.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

let nats: TestNats;
let kv: KV;

beforeAll(async () => {
  if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
  nats = await startTestNats();
  kv = await openInstructions(nats.nc);
});
afterAll(async () => {
  await nats?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let v = await f();
  for (let i = 0; i < 100 && !ok(v); i++) {
    await sleep(20);
    v = await f();
  }
  return v;
}
/** Watches are consumers on the bucket's stream: count them to see how many the cache opened. */
async function consumers(): Promise<number> {
  const jsm = await jetstreamManager(nats.nc);
  return (await jsm.streams.info(`KV_${INSTRUCTIONS_BUCKET}`)).state.consumer_count;
}

describe('LiveKeys', () => {
  it('opens one watch per key on first use, follows new revisions, and stops its watches on close', async () => {
    const r1 = await setInstructions(kv, 'role-x', 'first', { author: 'test' });
    const live = new LiveKeys(kv, () => {});
    const before = await consumers();
    expect(live.watchedKeys()).toEqual([]);
    // Concurrent first uses share one read and one watch.
    const got = await Promise.all([live.instructions('role-x'), live.instructions('role-x'), live.instructions('role-x')]);
    expect(got.map((g) => g?.revision)).toEqual([r1.revision, r1.revision, r1.revision]);
    expect(live.watchedKeys()).toEqual(['role-x']);
    expect(await consumers()).toBe(before + 1);

    const seen: [string, number][] = [];
    live.onUpdate((k, r) => seen.push([k, r]));
    const r2 = await setInstructions(kv, 'role-x', 'second', { author: 'test' });
    const now = await until(() => live.instructions('role-x'), (v) => v?.revision === r2.revision);
    expect(now).toEqual({ key: 'role-x', revision: r2.revision, text: 'second' });
    expect(seen).toEqual([['role-x', r2.revision]]);

    // An unset key reads as null, and is watched from then on: its first write shows up.
    expect(await live.instructions('role-y')).toBeNull();
    const y = await setInstructions(kv, 'role-y', 'hello', { author: 'test' });
    expect((await until(() => live.instructions('role-y'), (v) => v !== null))?.revision).toBe(y.revision);
    // A delete reads as null again.
    await kv.delete('role-y');
    expect(await until(() => live.instructions('role-y'), (v) => v === null)).toBeNull();

    live.close();
    await expect(live.instructions('role-x')).rejects.toThrow(/closed/);
    // Closed watches deliver nothing more (their server-side consumers expire on their own).
    const n = seen.length;
    await setInstructions(kv, 'role-x', 'third', { author: 'test' });
    await sleep(300);
    expect(seen.length).toBe(n);
  });

  it('checks typed values against their schema and names key and revision when one is bad', async () => {
    const live = new LiveKeys(kv, () => {});
    try {
      const good = await putValue(kv, 'params.role-z', SynthRoleParamsSchema, { temperature: 0.3 }, { author: 'test' });
      expect(await live.value('params.role-z', SynthRoleParamsSchema)).toEqual({ key: 'params.role-z', revision: good.revision, value: { temperature: 0.3 } });
      const bad = await putValue(kv, 'params.role-z', z.unknown(), { temprature: 0.3 }, { author: 'test' });
      await until(() => live.current('params.role-z'), (c) => c.revision === bad.revision);
      const err = await live.value('params.role-z', SynthRoleParamsSchema).catch((e) => e);
      expect(err).toBeInstanceOf(LiveValueError);
      expect(err.message).toMatch(new RegExp(`^params\\.role-z@${bad.revision}: invalid value: .*temprature`));
      // Not JSON at all, or an instructions key holding something else: also named, never skipped.
      const junk = await kv.put('role-junk', 'not json');
      expect((await live.instructions('role-junk').catch((e) => e)).message).toMatch(new RegExp(`^role-junk@${junk}: not an instructions entry`));
    } finally {
      live.close();
    }
  });
});

const input = (data: unknown, extra: Partial<RoleInput> = {}): RoleInput => ({
  message: { id: 'm', kind: 'synth.task.proposed', v: 1, from: { role: 'x', instance: 'x' }, sentAt: 0, data } as RoleInput['message'],
  data,
  delivery: 1,
  role: { name: 'critic', impl: 'critic@1', instance: 'c-0' },
  ...extra,
});

describe('per-item settings of a synthesis role', () => {
  it('rejects invalid params with the key and revision, and unknown fields', async () => {
    await expect(resolveItemSettings('critic', input({}, { params: { value: { votes: 2 }, revision: 9, key: 'params.critic' } }))).rejects.toThrow(
      /^params\.critic@9: invalid critic parameters: votes: votes must be odd/,
    );
    await expect(resolveItemSettings('critic', input({}, { params: { value: { vote: 3 }, revision: 4, key: 'params.critic' } }))).rejects.toThrow(/params\.critic@4: .*Unrecognized key.*vote/);
    const ok = await resolveItemSettings('critic', input({}, { params: { value: { votes: 3, maxRevisions: 2 }, revision: 5, key: 'params.critic' } }));
    expect(ok.params).toEqual({ value: { votes: 3, maxRevisions: 2 }, revision: 5, key: 'params.critic' });
    expect(SynthRoleParamsSchema.safeParse({ tierQuotas: { easy: 0, hard: 0 } }).success).toBe(false);
  });

  it('resolves an override key through the live source, and fails when it is missing', async () => {
    const live = new LiveKeys(kv, () => {});
    try {
      const cand = await setInstructions(kv, 'candidate.critic', 'candidate text', { author: 'test' });
      const prov = { runId: 'r', planId: 'p', itemId: 'r-p0-t0', traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 } };
      const own = { text: 'own', revision: 1, key: 'critic' };
      const r = await resolveItemSettings('critic', input({ provenance: { ...prov, overrides: { instructions: { critic: 'candidate.critic' } } } }, { instructions: own, live }));
      expect(r.instructions).toEqual({ text: 'candidate text', revision: cand.revision, key: 'candidate.critic' });
      // Another role's override leaves this one on its own key.
      const s = await resolveItemSettings('critic', input({ provenance: { ...prov, overrides: { instructions: { verifier: 'candidate.verifier' } } } }, { instructions: own, live }));
      expect(s.instructions).toBe(own);
      await expect(resolveItemSettings('critic', input({ provenance: { ...prov, overrides: { params: { critic: 'params.nowhere' } } } }, { live }))).rejects.toThrow(/override key params\.nowhere has no parameters/);
      await expect(resolveItemSettings('critic', input({ provenance: { ...prov, overrides: { instructions: { critic: 'candidate.critic' } } } }))).rejects.toThrow(/no live instructions source/);
    } finally {
      live.close();
    }
  });

  it('reads a key again when the run needs a later revision than the live view has (a lagging watch)', async () => {
    // A bucket whose watches deliver nothing: the view stays on what it first read, as a watch that
    // lags behind a write does for a while (the race a promotion followed at once by a run meets).
    const deaf = new Proxy(kv, {
      get(t, p) {
        if (p === 'watch') return async () => ({ stop() {}, [Symbol.asyncIterator]: async function* () { await new Promise(() => {}); } });
        const v = Reflect.get(t, p);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    }) as KV;
    const live = new LiveKeys(deaf, () => {});
    try {
      const r1 = await setInstructions(kv, 'role-lag', 'first', { author: 'test' });
      expect((await live.instructions('role-lag'))?.revision).toBe(r1.revision);
      const r2 = await setInstructions(kv, 'role-lag', 'second', { author: 'test' });
      expect((await live.instructions('role-lag'))?.text).toBe('first'); // behind
      expect(await live.instructions('role-lag', r2.revision)).toEqual({ key: 'role-lag', revision: r2.revision, text: 'second' });
      expect((await live.instructions('role-lag'))?.revision).toBe(r2.revision); // the view moved forward
      await expect(live.instructions('role-lag', r2.revision + 100)).rejects.toThrow(`role-lag@${r2.revision}: revision ${r2.revision + 100} or later wanted`);

      // An item whose run names a later revision of the role's key than the host gave it.
      const r3 = await setInstructions(kv, 'role-lag', 'third', { author: 'test' });
      const prov = { runId: 'r', planId: 'p', itemId: 'r-p0-t0', traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 } };
      const stale = { text: 'second', revision: r2.revision, key: 'role-lag' };
      const r = await resolveItemSettings('critic', input({ provenance: { ...prov, revisions: { 'role-lag': r3.revision } } }, { instructions: stale, live }));
      expect(r.instructions).toEqual({ text: 'third', revision: r3.revision, key: 'role-lag' });
      // At or above the bound, or another key's bound: the host's settings stand.
      const fresh = { text: 'third', revision: r3.revision, key: 'role-lag' };
      expect((await resolveItemSettings('critic', input({ provenance: { ...prov, revisions: { 'role-lag': r3.revision } } }, { instructions: fresh, live }))).instructions).toBe(fresh);
      expect((await resolveItemSettings('critic', input({ provenance: { ...prov, revisions: { verifier: 99 } } }, { instructions: stale, live }))).instructions).toBe(stale);
      // A run request carries them at the top level.
      expect(SynthRunRequestSchema.parse({ runId: 'r', domain: 'mock', plans: 1, tasksPerPlan: 1, maxRevisions: 0, revisions: { critic: 3 } }).revisions).toEqual({ critic: 3 });
    } finally {
      live.close();
    }
  });

  it('gives an item the same seed in two runs with the same base seed, and none without one', () => {
    const a = itemSeed({ runId: 'arm-a', itemId: 'arm-a-p1-t0', seed: 42 }, 0);
    expect(a).toBe(itemSeed({ runId: 'arm-b', itemId: 'arm-b-p1-t0', seed: 42 }, 0));
    expect(a).not.toBe(itemSeed({ runId: 'arm-a', itemId: 'arm-a-p1-t1', seed: 42 }, 0));
    expect(a).not.toBe(itemSeed({ runId: 'arm-a', itemId: 'arm-a-p1-t0', seed: 43 }, 0));
    expect(itemSeed({ runId: 'r', itemId: 'r-p0-t0' }, 3, 17)).toBe(17);
    expect(itemSeed({ runId: 'r', itemId: 'r-p0-t0' }, 3)).toBeUndefined();
  });

  it('splits plan slots by tier quota and takes the majority of critic votes', () => {
    expect(tierSlots(3)).toEqual([undefined, undefined, undefined]);
    expect(tierSlots(5, { easy: 1, hard: 1 })).toEqual(['easy', 'easy', 'easy', 'hard', 'hard']);
    expect(tierSlots(4, { easy: 0.25, medium: 0.5, hard: 0.25 })).toEqual(['easy', 'medium', 'medium', 'hard']);
    expect(tierSlots(2, { medium: 3 })).toEqual(['medium', 'medium']);
    expect(majorityVerdict(['accept', 'reject', 'accept'])).toBe('accept');
    expect(majorityVerdict(['accept', 'revise', 'reject'])).toBe('reject'); // no majority: the strictest
    expect(majorityVerdict(['revise'])).toBe('revise');
  });

  it('refuses a run whose fixed plans do not match its plan count', () => {
    const plan = { synthesis: { tier: 'easy', toolPatterns: ['x'], userStyle: 's', persona: 'p', goal: 'g' }, evaluation: { rubric: ['r'], failureTaxonomy: ['f'] } };
    const base = { runId: 'r', domain: 'mock', tasksPerPlan: 1, maxRevisions: 0 };
    expect(SynthRunRequestSchema.safeParse({ ...base, plans: 2, fixedPlans: [plan] }).success).toBe(false);
    expect(SynthRunRequestSchema.safeParse({ ...base, plans: 1, fixedPlans: [plan], seed: 3, validation: true, overrides: { instructions: { critic: 'candidate.critic' } } }).success).toBe(true);
  });
});
