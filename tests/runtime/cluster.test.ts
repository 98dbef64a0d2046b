// Scale-out on a real 3-node NATS cluster (nats-server from deploy/nats/node.conf, on loopback):
// streams with 3 replicas, one worker process per node, 1,000 items through the test pipeline, and
// the node leading the message stream SIGKILLed under load. Nothing may be lost or duplicated, the
// workers of the dead node must reconnect to the others and keep working, and the stream must keep
// its quorum on the 2 surviving nodes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { natsServerAvailable } from '../../runtime/nats/embedded.ts';
import { storeReplicas } from '../../runtime/nats/streams.ts';
import { runFailover } from '../helpers/cluster-failover.ts';
import { countBy } from '../helpers/nats.ts';

const dir = mkdtempSync(join(tmpdir(), 'troupe-cluster-'));
const N = 1000;

describe('a 3-node NATS cluster under a node crash', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('replicas: 1 on a single server, 3 on a cluster, TROUPE_NATS_REPLICAS wins', () => {
    const nc = (cluster?: string) => ({ info: cluster ? { cluster } : {} }) as never;
    expect(storeReplicas(nc(), {})).toBe(1);
    expect(storeReplicas(nc('troupe'), {})).toBe(3);
    expect(storeReplicas(nc('troupe'), { TROUPE_NATS_REPLICAS: '1' })).toBe(1);
    expect(() => storeReplicas(nc(), { TROUPE_NATS_REPLICAS: 'two' })).toThrow(/TROUPE_NATS_REPLICAS/);
  });

  it('loses nothing, duplicates nothing and goes on when the stream leader is SIGKILLed', async () => {
    if (!natsServerAvailable()) throw new Error('nats-server is missing: install it (apt-get install nats-server)');
    const r = await runFailover({ dir, n: N, log: (l) => console.log(`[cluster] ${l}`) });
    console.log(`[cluster] figures ${JSON.stringify(r.figures)}`);

    const perSeq = countBy(r.done, (d) => d.envelope.data.seq);
    expect(perSeq.size).toBe(N); // 0 lost
    expect(r.done).toHaveLength(N); // 0 duplicated in the stream
    expect([...perSeq.values()].every((c) => c === 1)).toBe(true);
    for (const d of r.done) expect(d.envelope.data.hops.map((h) => h.role)).toEqual(['stage-a', 'stage-b', 'stage-c']);
    expect(r.deadLetters).toBe(0);

    // Roles were spread: every node's worker did part of the work.
    for (const [node, instances] of Object.entries(r.placement)) {
      const n = r.done.filter((d) => d.envelope.data.hops.some((h) => instances.includes(h.instance))).length;
      expect(n, `items handled by the worker on ${node}`).toBeGreaterThan(0);
    }
    // The dead node's worker reconnected to a surviving node and handled items after the kill.
    expect(r.figures.orphanBackMs).not.toBeNull();
    expect(r.figures.firstAfterKillMs).toBeGreaterThanOrEqual(0);
    // Quorum kept on 2 of 3: a surviving leader, the dead node not current.
    expect(r.after.leader).toBeDefined();
    expect(r.after.leader).not.toBe(r.killed.node);
    expect(r.after.replicas.filter((x) => x.current && x.name !== r.killed.node).length).toBeGreaterThanOrEqual(2);
  }, 150_000);
});
