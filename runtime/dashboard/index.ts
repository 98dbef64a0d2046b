// The web dashboard `troupe up` serves beside the control plane: the live society as a graph, the
// message stream, traces, run reports, and swap / drain / cancel. See docs/dashboard.md.
import { runsDir } from '../config/paths.ts';
import type { Society } from '../society/society.ts';
import { startDashboard, type Dashboard, type DashboardBackend } from './server.ts';

export { startDashboard, swapFromBody, DASHBOARD_HOST, PAGE_DIR } from './server.ts';
export type { Dashboard, DashboardBackend, DashboardOptions } from './server.ts';

/** The dashboard of a started society, guarded by its control token. */
export async function startSocietyDashboard(society: Society, opts: { port?: number } = {}): Promise<Dashboard> {
  if (!society.controlToken) throw new Error('dashboard: the society has no control plane (its token is the dashboard credential)');
  const handlers = society.handlers();
  // Run cancellation lands with the control plane's cancel call; until then the page reports it as unavailable.
  const cancel = (handlers as { cancelRun?: (runId: string) => Promise<unknown> }).cancelRun;
  const backend: DashboardBackend = {
    runId: society.runId,
    runDir: society.runDir,
    runsDir: runsDir(),
    nc: society.nc,
    control: handlers,
    roleKinds: () => society.roleKinds(),
    drain: (instance) => society.retire(instance),
    cancelRun: cancel ? async (runId) => String((await cancel.call(handlers, runId)) ?? `cancel of ${runId} requested`) : undefined,
  };
  return startDashboard({ token: society.controlToken, port: opts.port, backend });
}
