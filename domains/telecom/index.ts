// τ²'s telecom domain (and telecom-workflow: the same tasks with the flowchart-style tech-support
// policy). Dual control: the agent manages the carrier's records, the user operates the phone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { tau2DomainDir } from '../core/data-dir.ts';
import { Db } from '../core/db.ts';
import type { CreateEnvironmentOptions, DomainSpec } from '../core/domain.ts';
import { deepCopy } from '../pycompat/pyjson.ts';
import { construct } from '../core/schema.ts';
import { Toolkit } from '../core/tool.ts';
import { loadDomainTasks, loadSplits } from '../tasks/load.ts';
import { TELECOM_AGENT_TOOLKIT, type TelecomData } from './agent-tools.ts';
import { pyDatetimeText } from './dates.ts';
import type { TelecomUserData } from './device.ts';
import { TelecomEnvironment } from './environment.ts';
import { TelecomDbModel, TelecomUserDbModel } from './models.ts';
import { TELECOM_USER_TOOLKIT } from './user-tools.ts';

export type TechSupportPolicy = 'manual' | 'workflow';

const dir = () => tau2DomainDir('telecom');
const read = (name: string) => readFileSync(join(dir(), name), 'utf8');

/** The agent's policy: the main policy and the tech-support guide, each in its own tag. */
export function telecomPolicy(kind: TechSupportPolicy, solo = false): string {
  const main = read(solo ? 'main_policy_solo.md' : 'main_policy.md');
  // τ² pairs the solo main policy with the same manual, but with a solo variant of the workflow.
  const tech = read(kind === 'manual' ? 'tech_support_manual.md' : solo ? 'tech_support_workflow_solo.md' : 'tech_support_workflow.md');
  return `<main_policy>\n${main}\n</main_policy>\n<tech_support_policy>\n${tech}\n</tech_support_policy>`;
}

/** Datetime fields hold Python's `str(datetime)` text, as τ²'s hash serialises them. */
function normaliseDatetimes(raw: { devices?: Record<string, unknown>[]; customers?: Record<string, unknown>[] }): void {
  for (const d of raw.devices ?? []) {
    d.activation_date = pyDatetimeText(d.activation_date);
    d.last_esim_transfer_date = pyDatetimeText(d.last_esim_transfer_date);
  }
  for (const c of raw.customers ?? []) c.created_at = pyDatetimeText(c.created_at);
}

function tomlData(name: string): Record<string, unknown> {
  const raw = parseToml(read(name)) as Record<string, unknown>;
  return JSON.parse(JSON.stringify(raw, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
}

let cache: { agent: TelecomData; user: TelecomUserData } | undefined;
/** Validated DB contents, loaded once per process; every environment works on a deep copy. */
export function telecomBaseDbs(): { agent: TelecomData; user: TelecomUserData } {
  if (!cache) {
    const agentRaw = tomlData('db.toml');
    normaliseDatetimes(agentRaw as never);
    cache = {
      agent: construct<TelecomData>(TelecomDbModel, agentRaw),
      user: construct<TelecomUserData>(TelecomUserDbModel, tomlData('user_db.toml')),
    };
  }
  return cache;
}

function makeDomain(name: 'telecom' | 'telecom-workflow', kind: TechSupportPolicy): DomainSpec {
  const spec: DomainSpec = {
    name,
    policy: (opts?: CreateEnvironmentOptions) => telecomPolicy(kind, opts?.solo ?? false),
    createEnvironment(opts: CreateEnvironmentOptions = {}) {
      const base = telecomBaseDbs();
      return new TelecomEnvironment({
        domainName: name,
        policy: spec.policy(opts),
        tools: new Toolkit(TELECOM_AGENT_TOOLKIT, new Db(TelecomDbModel, deepCopy(base.agent))),
        userTools: new Toolkit(TELECOM_USER_TOOLKIT, new Db(TelecomUserDbModel, deepCopy(base.user))),
        soloMode: opts.solo,
      });
    },
    // Splits: base (114, the τ² paper set), train/test, small (20), full (all 2,285).
    loadTasks: (opts) => loadDomainTasks(dir(), opts),
    splits: () => loadSplits(dir()),
  };
  return spec;
}

export const telecomDomain = makeDomain('telecom', 'manual');
export const telecomWorkflowDomain = makeDomain('telecom-workflow', 'workflow');
