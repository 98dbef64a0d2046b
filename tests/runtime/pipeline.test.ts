// Integration: 1,000 items through a 3-role pipeline whose replicas are separate OS processes, on a
// real nats-server. One stage-b replica is SIGKILLed mid-stream and some items make their handler
// throw once: every item must still reach the sink exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PipelineDone, type PipelineItem } from '../../protocols/runtime-messages.ts';
import { parseSocietyConfig } from '../../runtime/society/config.ts';
import { Society } from '../../runtime/society/society.ts';
import { collect, countBy, feedItems, startTestNats, type TestNats } from '../helpers/nats.ts';
import { TEST_ROLES } from '../fixtures/roles/catalog.ts';

const N = 1000;
let nats: TestNats;
let society: Society;

beforeAll(async () => {
  nats = await startTestNats();
  process.env.TROUPE_RUNS_DIR = nats.dir;
  society = new Society({ catalog: TEST_ROLES,
    config: parseSocietyConfig({
      roles: { 'stage-a': { replicas: 2 }, 'stage-b': { replicas: 2, concurrency: 8 }, 'stage-c': { replicas: 2 } },
      ackWaitMs: 2000,
    }),
    nats: nats.settings,
    control: false,
    log: () => {},
  });
  await society.start();
});

afterAll(async () => {
  await society?.stop();
  await nats?.stop();
});

describe('pipeline across processes', () => {
  it('delivers every item exactly once through a SIGKILL and injected handler failures', async () => {
    const victim = society.children().find((c) => c.role === 'stage-b')!;
    expect(victim.pid).toBeGreaterThan(0);
    let killed = false;
    // Items take 3 ms at each stage so the victim always holds work in flight when it dies.
    await feedItems(nats.nc, N, {
      perTick: 100,
      tickMs: 30,
      item: (seq) => ({ workMs: 3, failOnceAt: seq % 97 === 0 ? 'stage-c' : undefined }),
      onTick: (sent) => {
        if (!killed && sent >= 400) {
          process.kill(victim.pid!, 'SIGKILL');
          killed = true;
        }
      },
    });
    expect(killed).toBe(true);

    // Keep listening past the ack wait so a late redelivered duplicate would be caught.
    const done = await collect<PipelineItem>(nats.nc, PipelineDone.subject, (got) => new Set(got.map((g) => g.envelope.data.seq)).size >= N, {
      timeoutMs: 90_000,
      settleMs: 3000,
    });
    const perSeq = countBy(done, (d) => d.envelope.data.seq);
    expect(perSeq.size).toBe(N);
    expect([...perSeq.values()].every((c) => c === 1)).toBe(true);
    expect(done).toHaveLength(N);
    for (const d of done) expect(d.envelope.data.hops.map((h) => h.role)).toEqual(['stage-a', 'stage-b', 'stage-c']);

    // The killed replica held work: some items were finished by the other stage-b instance after a redelivery.
    const byVictim = done.filter((d) => d.envelope.data.hops[1].instance === victim.instance).length;
    expect(byVictim).toBeGreaterThan(0);
    expect(byVictim).toBeLessThan(N);

    // The failing handlers were retried (supervision), not dead-lettered.
    // Registry entries refresh every 2 s; wait for the counts to show up.
    let instances = await society.instances();
    for (let i = 0; i < 60 && instances.reduce((s, r) => s + r.failed, 0) < Math.ceil(N / 97); i++) {
      await new Promise((r) => setTimeout(r, 100));
      instances = await society.instances();
    }
    expect(instances.reduce((s, r) => s + r.failed, 0)).toBeGreaterThanOrEqual(Math.ceil(N / 97));
    expect(instances.reduce((s, r) => s + r.deadLettered, 0)).toBe(0);

    // Supervision: the society restarted the killed replica (same instance id, new process).
    let back;
    for (let i = 0; i < 150 && !back; i++) {
      back = (await society.instances('stage-b')).find((r) => r.instance === victim.instance && r.pid !== victim.pid && r.state === 'ready');
      if (!back) await new Promise((r) => setTimeout(r, 100));
    }
    expect(back).toBeDefined();
  }, 150_000);
});
