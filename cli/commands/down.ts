// `troupe down`: stop the running society (its workers drain first), and wait until it is gone.
import { parseArgs } from 'node:util';
import { findSociety, isAlive, orphanedServers } from '../../runtime/society/state.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'run-id': { type: 'string' }, 'timeout-s': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: troupe down [--run-id ID] [--timeout-s 60]');
    return 0;
  }
  let s;
  try {
    s = findSociety(values['run-id']);
  } catch (err) {
    // A society killed outright leaves its embedded nats-server behind; clean that up instead.
    const orphans = orphanedServers().filter((o) => !values['run-id'] || o.runId === values['run-id']);
    if (!orphans.length) throw err;
    for (const o of orphans) {
      process.kill(o.natsPid!, 'SIGTERM');
      for (let i = 0; i < 100 && isAlive(o.natsPid!); i++) await new Promise((r) => setTimeout(r, 100));
      console.log(`society ${o.runId} was already gone; stopped its nats-server (pid ${o.natsPid})`);
    }
    return 0;
  }
  process.kill(s.pid, 'SIGTERM');
  const deadline = Date.now() + Number(values['timeout-s'] ?? 60) * 1000;
  while (isAlive(s.pid)) {
    if (Date.now() > deadline) {
      console.error(`society ${s.runId} (pid ${s.pid}) still running after the timeout`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`society ${s.runId} stopped`);
  return 0;
}
