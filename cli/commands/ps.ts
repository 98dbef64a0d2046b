// `troupe ps [--json]`: live role instances of the running society (via its control plane).
import { parseArgs } from 'node:util';
import { createControlClient, endpointClientOptions, readControlEndpoint } from '../../runtime/control/index.ts';
import { findSociety } from '../../runtime/society/state.ts';

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean' }, role: { type: 'string' }, 'run-id': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: troupe ps [--json] [--role ROLE] [--run-id ID]');
    return 0;
  }
  const society = findSociety(values['run-id']);
  const ep = readControlEndpoint(society.runDir);
  const client = createControlClient(ep.address, ep.token, endpointClientOptions(ep));
  try {
    const roles = await client.listRoles(values.role);
    if (values.json) {
      console.log(JSON.stringify({ runId: society.runId, roles }, null, 2));
      return 0;
    }
    const now = Date.now();
    const rows = [
      ['ROLE', 'IMPL', 'INSTANCE', 'STATE', 'HOST', 'PID', 'IN-FLIGHT', 'HANDLED', 'FAILED', 'DLQ', 'INSTR', 'HEARTBEAT', 'MODEL'],
      ...roles.map((r) => [
        r.role, r.implementation, r.instanceId, r.state || '-', r.host, String(r.pid), String(r.inFlight),
        String(r.handled), String(r.failed), String(r.deadLettered), r.instructionsRevision ? `r${r.instructionsRevision}` : '-',
        `${((now - r.heartbeatMs) / 1000).toFixed(1)}s ago`, r.model || '-',
      ]),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    console.log(`society ${society.runId} (${society.natsUrl})`);
    for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
    return 0;
  } finally {
    client.close();
  }
}
