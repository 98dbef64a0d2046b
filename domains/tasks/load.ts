/**
 * Task files and splits. Tasks are parsed with Python number types kept (`pyjson.parse`), then
 * validated against τ²'s Task schema. A split keeps `tasks.json` order, filtered by the split's ids.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TaskSchema, type Task } from '../../protocols/tau2/task.ts';
import { parse } from '../pycompat/pyjson.ts';

export class TaskFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskFileError';
  }
}

/** Parse a task list (a JSON array of τ² Tasks). `source` names the file in error messages. */
export function parseTasks(text: string, source: string): Task[] {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (e) {
    throw new TaskFileError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(raw)) throw new TaskFileError(`${source}: expected a JSON array of tasks`);
  return raw.map((item, i) => {
    const r = TaskSchema.safeParse(item);
    if (!r.success) {
      const id = (item as { id?: unknown })?.id;
      const where = r.error.issues.map((iss) => `${iss.path.join('.') || '(root)'}: ${iss.message}`).join('; ');
      throw new TaskFileError(`${source}: task #${i}${id ? ` (${String(id)})` : ''} is not a valid τ² task: ${where}`);
    }
    return r.data;
  });
}

/** Load every task of a task file, in file order. */
export function loadTaskFile(path: string): Task[] {
  if (!existsSync(path)) throw new TaskFileError(`task file not found: ${path}`);
  return parseTasks(readFileSync(path, 'utf8'), path);
}

/** `split_tasks.json` of a domain folder; `{}` when the domain has none. */
export function loadSplits(domainDir: string): Record<string, string[]> {
  const p = join(domainDir, 'split_tasks.json');
  if (!existsSync(p)) return {};
  const raw = JSON.parse(readFileSync(p, 'utf8')) as unknown;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new TaskFileError(`${p}: expected {split: [task ids]}`);
  return raw as Record<string, string[]>;
}

/** Filter tasks to a split, keeping file order. Unknown split names are an error listing the known ones. */
export function selectSplit(tasks: Task[], splits: Record<string, string[]>, split: string, source = 'split_tasks.json'): Task[] {
  const ids = splits[split];
  if (!ids) {
    throw new TaskFileError(`unknown split "${split}" in ${source}; known splits: ${Object.keys(splits).join(', ') || '(none)'}`);
  }
  const wanted = new Set(ids);
  const out = tasks.filter((t) => wanted.has(t.id));
  if (out.length !== wanted.size) {
    const have = new Set(out.map((t) => t.id));
    const missing = ids.filter((id) => !have.has(id));
    throw new TaskFileError(`split "${split}" names ${missing.length} task id(s) not in the task file: ${missing.slice(0, 5).join(', ')}`);
  }
  return out;
}

/** Standard loader for a domain folder: `tasks.json` + `split_tasks.json`, or an explicit file. */
export function loadDomainTasks(domainDir: string, opts: { split?: string; path?: string } = {}): Task[] {
  if (opts.path) {
    const tasks = loadTaskFile(opts.path);
    return opts.split ? selectSplit(tasks, loadSplits(domainDir), opts.split) : tasks;
  }
  const tasks = loadTaskFile(join(domainDir, 'tasks.json'));
  return selectSplit(tasks, loadSplits(domainDir), opts.split ?? 'base', join(domainDir, 'split_tasks.json'));
}
