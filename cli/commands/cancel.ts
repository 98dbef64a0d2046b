// `troupe cancel RUN`: mark a work run cancelled in the run table. Every host checks the table before
// working a message, so the run's remaining messages are acked with a `run.item.dropped` record
// instead of being worked; the command following the run (`troupe synth`) stops.
import { parseArgs } from 'node:util';
import { natsCliOptions } from '../../runtime/nats/connect.ts';
import { cancelRun, getRun, listRuns, openRuns } from '../../runtime/registry/runs.ts';
import { connectToSociety } from '../drivers/target.ts';

const HELP = `usage: troupe cancel RUN [--reason TEXT] [--nats URL ...]
       troupe cancel --list

Cancels a run (troupe synth, evolve, …) on the running society (found through its run directory, or
--nats / TROUPE_NATS_URL with TROUPE_NATS_USER/_PASS or TROUPE_NATS_CREDS). Its messages still queued
or redelivered are dropped by the roles (acked with a run.item.dropped record, not worked).
--list shows the run table.`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...natsCliOptions, reason: { type: 'string' }, list: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.list && positionals.length !== 1) {
    console.error(`troupe cancel: give one RUN id\n\n${HELP}`);
    return 2;
  }
  const { nc, describe } = await connectToSociety(values, 'troupe-cancel');
  try {
    const kv = await openRuns(nc);
    if (values.list) {
      for (const r of await listRuns(kv)) console.log(`${r.runId}  ${r.state.padEnd(9)}  ${r.by}  started ${new Date(r.startedAt).toISOString()}${r.reason ? `  (${r.reason})` : ''}`);
      return 0;
    }
    const runId = positionals[0];
    const prior = await getRun(kv, runId);
    if (!prior) console.error(`troupe cancel: run ${runId} is not in the run table of ${describe}; cancelling it anyway (its messages will be dropped)`);
    else if (prior.state !== 'running') console.error(`troupe cancel: run ${runId} was ${prior.state}`);
    const rec = await cancelRun(kv, runId, values.reason ?? 'cancelled with troupe cancel');
    console.log(`run ${rec.runId} cancelled on ${describe}`);
    return 0;
  } finally {
    await nc.close().catch(() => {});
  }
}
