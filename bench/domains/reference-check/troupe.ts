// Troupe side of the reference check: same tasks and probes as ref.py, same output keys.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { getDomain } from '../../../domains/registry.ts';
import { dumps, parse } from '../../../domains/pycompat/pyjson.ts';
import { applyInitialState } from '../../../domains/tasks/initial-state.ts';
const probes = parse(readFileSync(new URL('./probes.json', import.meta.url), 'utf8')) as any;
const out: Record<string, string> = {};
const legacy = process.env.LEGACY_TASKS_DIR; // e.g. the v0.2.0 set: all tasks of each file
for (const name of ['airline', 'retail', 'mock']) {
  if (legacy && !existsSync(`${legacy}/${name}/tasks.json`)) continue;
  const d = getDomain(name);
  let env = d.createEnvironment();
  out[name + ':schemas'] = dumps(env.agentToolSchemas());
  if (env.userTools) out[name + ':user_schemas'] = dumps(env.userToolSchemas());
  for (const task of legacy ? d.loadTasks({ path: `${legacy}/${name}/tasks.json` }) : d.loadTasks()) {
    env = d.createEnvironment();
    try { applyInitialState(env, task); } catch (e) { out[`${name}:${task.id}:setstate`] = String(e); continue; }
    const msgs: unknown[] = [];
    for (const a of task.evaluation_criteria?.actions ?? []) {
      const r = env.getResponse({ id: 'x', name: a.name, arguments: a.arguments as any, requestor: a.requestor ?? 'assistant' });
      msgs.push([r.content, r.error]);
    }
    out[`${name}:${task.id}:msgs`] = dumps(msgs);
    out[`${name}:${task.id}:db`] = dumps(env.agentDbDump(), { sortKeys: true, default: String });
  }
  (probes[name] ?? []).forEach(([tool, args, req]: any, i: number) => {
    const e = d.createEnvironment();
    const r = e.getResponse({ id: 'p', name: tool, arguments: args, requestor: req });
    out[`${name}:probe${i}`] = dumps([r.content, r.error]);
  });
}
writeFileSync(process.argv[2], JSON.stringify(out));
