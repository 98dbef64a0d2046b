// `troupe tau2 grade RESULTS.json [--out F]`: re-grade the trajectories of a τ² results file (ours
// or the reference's), print a per-task table and pass^k, optionally write the re-graded file.
import { parseArgs } from 'node:util';
import { getDomain } from '../domains/registry.ts';
import { gradeResults, formatReport, needsJudge, tasksForGrading } from '../domains/evaluator/grade.ts';
import { OpenAiNlJudge } from '../llm/client/openai-nl-judge.ts';
import { readResultsFile, writeResultsFile } from '../domains/evaluator/results-io.ts';

const USAGE = `usage: troupe tau2 grade RESULTS.json [--out FILE] [--domain D] [--fresh-tasks] [--strict]
                          [--judge-model M] [--judge-base-url URL]

Re-grades every simulation of a τ²-bench results file (like tau2's evaluate-trajs) and prints a
per-task table with avg reward and pass^k.
  --out FILE           write the results with the new reward_info
  --domain D           domain to grade in (default: info.environment_info.domain_name)
  --fresh-tasks        use the domain's current tasks instead of those stored in the file
  --strict             fail a simulation whose replayed writes differ from its recorded outputs
  --judge-model M      model for NL assertions (needed when a task grades on NL_ASSERTION)
  --judge-base-url U   OpenAI-compatible endpoint for the judge (key: OPENAI_API_KEY)`;

export async function gradeCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        domain: { type: 'string' },
        'fresh-tasks': { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        'judge-model': { type: 'string' },
        'judge-base-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    console.error(`troupe tau2 grade: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`troupe tau2 grade: expected exactly one results file\n\n${USAGE}`);
    return 2;
  }
  const results = readResultsFile(positionals[0]);
  const domain = getDomain(values.domain ?? results.info.environment_info.domain_name);
  const judge = values['judge-model']
    ? new OpenAiNlJudge({ model: values['judge-model'], baseURL: values['judge-base-url'] })
    : undefined;
  if (!judge && needsJudge(results, tasksForGrading(results, domain, values['fresh-tasks'] ?? false))) {
    console.error('troupe tau2 grade: some tasks grade on NL_ASSERTION; give --judge-model (and --judge-base-url) for the LLM judge');
    return 2;
  }
  const total = results.simulations.length;
  const step = Math.max(1, Math.floor(total / 10));
  const report = await gradeResults(results, domain, {
    judge,
    freshTasks: values['fresh-tasks'],
    mode: values.strict ? 'strict' : 'lenient',
    onProgress: (done) => {
      if (done % step === 0 || done === total) process.stderr.write(`graded ${done}/${total}\n`);
    },
  });
  console.log(formatReport(report));
  for (const g of report.graded.filter((x) => x.error)) console.error(`simulation ${g.sim.id} (${g.sim.task_id}): ${g.error}`);
  if (values.out) {
    writeResultsFile(values.out, report.results);
    console.log(`wrote ${values.out}`);
  }
  return 0;
}
