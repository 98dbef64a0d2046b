// The web dashboard `troupe up` serves beside the control plane: the live society as a graph, the
// message stream, traces, run reports, and swap / drain / cancel. See docs/dashboard.md.
import { runsDir } from '../config/paths.ts';
import { cancelRun, getRun, openRuns } from '../registry/runs.ts';
import type { Society } from '../society/society.ts';
import { HttpError, startDashboard, type Dashboard, type DashboardBackend } from './server.ts';

export { startDashboard, swapFromBody, DASHBOARD_HOST, PAGE_DIR } from './server.ts';
export type { Dashboard, DashboardBackend, DashboardOptions } from './server.ts';

/** The dashboard of a started society, guarded by its control token. */
export async function startSocietyDashboard(society: Society, opts: { port?: number } = {}): Promise<Dashboard> {
  if (!society.controlToken) throw new Error('dashboard: the society has no control plane (its token is the dashboard credential)');
  const handlers = society.handlers();
  // Cancel marks the run cancelled in the run table (as `troupe cancel` does); hosts drop its messages.
  const runs = await openRuns(society.nc);
  const backend: DashboardBackend = {
    runId: society.runId,
    runDir: society.runDir,
    runsDir: runsDir(),
    nc: society.nc,
    control: handlers,
    roleKinds: () => society.roleKinds(),
    drain: (instance) => society.retire(instance),
    cancelRun: async (runId) => {
      if (!(await getRun(runs, runId))) throw new HttpError(404, `no run "${runId}" in the run table`);
      const rec = await cancelRun(runs, runId, 'cancelled from the dashboard', 'dashboard');
      return `run ${rec.runId} cancelled: its remaining messages are dropped`;
    },
  };
  return startDashboard({ token: society.controlToken, port: opts.port, backend });
}
