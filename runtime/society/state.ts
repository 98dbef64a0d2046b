// The state file a running society leaves in its run directory, so `troupe ps/swap/down` find it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { runsDir } from '../config/paths.ts';

export const SocietyStateSchema = z.object({
  runId: z.string(),
  runDir: z.string(),
  pid: z.number().int(),
  startedAt: z.number(),
  /** NATS URL without credentials. */
  natsUrl: z.string(),
  embeddedNats: z.boolean(),
  /** Pid of the embedded nats-server, when there is one. */
  natsPid: z.number().int().optional(),
  controlAddress: z.string(),
  /** A society a command started for its own work (gone when that command ends): nobody else submits to it. */
  ephemeral: z.boolean().optional(),
});
export type SocietyState = z.infer<typeof SocietyStateSchema>;

export function stateFile(runDir: string): string {
  return join(runDir, 'society.json');
}

export function writeSocietyState(s: SocietyState): void {
  writeFileSync(stateFile(s.runDir), JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The society of run `runId`, or the most recently started live one (`submit`: skip ephemeral ones). */
export function findSociety(runId?: string, opts: { submit?: boolean } = {}): SocietyState {
  const root = runsDir();
  const candidates = runId ? [runId] : existsSync(root) ? readdirSync(root) : [];
  const live: SocietyState[] = [];
  for (const id of candidates) {
    const f = stateFile(join(root, id));
    if (!existsSync(f)) continue;
    const r = SocietyStateSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
    if (r.success && isAlive(r.data.pid) && !(opts.submit && !runId && r.data.ephemeral)) live.push(r.data);
  }
  if (!live.length) {
    throw new Error(runId ? `no running society with run id ${runId} under ${root}` : `no running society under ${root}: start one with "troupe up"`);
  }
  return live.sort((a, b) => b.startedAt - a.startedAt)[0];
}

/**
 * Credentials of a society's embedded nats-server, so `troupe worker` on the same machine can join
 * without --nats. Mode 0600, like the control endpoint; never written for an external server.
 */
export function natsCredentialsFile(runDir: string): string {
  return join(runDir, 'nats.json');
}

export function writeNatsCredentials(runDir: string, creds: { url: string; user: string; pass: string }): void {
  writeFileSync(natsCredentialsFile(runDir), JSON.stringify(creds) + '\n', { mode: 0o600 });
}

export function readNatsCredentials(runDir: string): { url: string; user: string; pass: string } | undefined {
  const f = natsCredentialsFile(runDir);
  if (!existsSync(f)) return undefined;
  return z.object({ url: z.string(), user: z.string(), pass: z.string() }).parse(JSON.parse(readFileSync(f, 'utf8')));
}

/** States of societies that died without cleaning up (pid gone) whose embedded nats-server still runs. */
export function orphanedServers(): SocietyState[] {
  const root = runsDir();
  if (!existsSync(root)) return [];
  const out: SocietyState[] = [];
  for (const id of readdirSync(root)) {
    const f = stateFile(join(root, id));
    if (!existsSync(f)) continue;
    const r = SocietyStateSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
    if (!r.success || isAlive(r.data.pid) || !r.data.natsPid || !isAlive(r.data.natsPid)) continue;
    // Only a process that still is a nats-server (pids get reused).
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${r.data.natsPid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.includes('nats-server') && cmd.includes(r.data.runDir)) out.push(r.data);
  }
  return out;
}
