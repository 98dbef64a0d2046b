/**
 * What a τ² domain provides to the rest of Troupe (τ²'s registry entry: env constructor, task
 * loader, splits). Domains live in `domains/<name>/index.ts` and are listed in `domains/registry.ts`.
 */
import type { Task } from '../../protocols/tau2/task.ts';
import type { Environment } from './environment.ts';

export interface CreateEnvironmentOptions {
  /** Solo mode: the agent also gets the user's tools and the `*_solo` policy. */
  solo?: boolean;
}

export interface LoadTasksOptions {
  /** A split name from `split_tasks.json` (`base` when neither split nor path is given). */
  split?: string;
  /** Any task file (legacy v0.2.0 set, Troupe-synthesized tasks); all its tasks, in file order. */
  path?: string;
}

export interface DomainSpec {
  name: string;
  /** The agent's policy text (system prompt body). */
  policy(opts?: CreateEnvironmentOptions): string;
  /** A fresh environment on a fresh copy of the domain's DB(s). */
  createEnvironment(opts?: CreateEnvironmentOptions): Environment;
  /** Tasks of a split (default `base`) or of a task file. */
  loadTasks(opts?: LoadTasksOptions): Task[];
  /** `split_tasks.json`: split name -> task ids. */
  splits(): Record<string, string[]>;
}
