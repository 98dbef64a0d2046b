// Grading throughput: gold trajectories of each domain's `base` split, graded leniently, one at a
// time. Run: TAU2_DATA_DIR=... npx tsx bench/evaluator/grade-throughput.ts
// Results are recorded in docs/evaluation.md ("Speed").
import { getDomain } from '../../domains/registry.ts';
import { goldTrajectory } from '../../domains/evaluator/gold-trajectory.ts';
import { evaluateSimulation } from '../../domains/evaluator/evaluate.ts';
import type { NlJudge } from '../../domains/evaluator/nl-judge.ts';

// NL assertions are judged by an LLM in real runs; here every outcome is accepted so only the
// environment, action and communicate work is timed.
const acceptAll: NlJudge = { judge: async (_t, a) => a.map((x) => ({ expectedOutcome: x, reasoning: '', metExpectation: true })) };

async function main(): Promise<void> {
  for (const name of process.argv.slice(2).length ? process.argv.slice(2) : ['mock', 'airline', 'retail', 'telecom']) {
    const domain = getDomain(name);
    const makeEnv = (o?: { solo?: boolean }) => domain.createEnvironment(o);
    const tasks = domain.loadTasks({ split: 'base' });
    const trajectories = tasks.map((t) => goldTrajectory(t, makeEnv));
    const t0 = performance.now();
    for (let i = 0; i < tasks.length; i++) {
      await evaluateSimulation({ task_id: tasks[i].id, termination_reason: 'user_stop', messages: trajectories[i] }, tasks[i], makeEnv, {
        judge: acceptAll,
        mode: 'lenient',
      });
    }
    const s = (performance.now() - t0) / 1000;
    console.log(`${name.padEnd(8)} ${String(tasks.length).padStart(4)} sims  ${s.toFixed(2).padStart(6)} s  ${(tasks.length / s).toFixed(1).padStart(7)} sims/s`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
