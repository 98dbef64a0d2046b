// `troupe instructions show|history|diff|set|rollback KEY`: read and write role instructions (KEY = a
// role) and typed values (KEY = plan.<name> | params.<name>) in the instructions KV bucket, with
// their lineage. Every write is a new revision; running roles pick it up for their next item.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runsDir } from '../../runtime/config/paths.ts';
import { natsCliOptions, natsSettingsFromFlags, type NatsSettings } from '../../runtime/nats/connect.ts';
import { openNatsSession, type NatsSession } from '../../runtime/nats/session.ts';
import { findSociety, readNatsCredentials } from '../../runtime/society/state.ts';
import { openInstructions } from '../../runtime/instructions/instructions.ts';
import { entryHistory, getEntry, isValueKey, rollbackEntry, setEntry, type Entry, type Lineage } from '../../runtime/instructions/lineage.ts';
import { unifiedDiff } from '../../runtime/instructions/diff.ts';

const HELP = `usage: troupe instructions <subcommand> KEY [options] [--nats URL | --run-id ID]

KEY is a role (its instructions text) or plan.<name> / params.<name> (a JSON value).
  show KEY [--revision N] [--json]      the current (or given) revision and its lineage
  history KEY [--json]                  every stored revision, oldest first, with lineage
  diff KEY [A [B]]                      unified diff A→B (default: the current revision's parent→current;
                                        with only A: A→current)
  set KEY --file F --rationale TEXT [--failures ID,ID] [--author NAME]
                                        write F as a new revision (JSON for plan./params. keys)
  rollback KEY REVISION [--rationale TEXT] [--author NAME]
                                        write a new revision equal to REVISION (lineage: rollback)

Server: --nats URL (credentials --nats-user/--nats-pass, --nats-token, ... or TROUPE_NATS_*), else the
society running on this machine (latest, or --run-id ID); --run-id of a finished run opens its store.
--author defaults to "human".`;

async function openSession(given: NatsSettings | undefined, runId: string | undefined): Promise<NatsSession> {
  if (given) return openNatsSession(given, { runDir: '/nonexistent', name: 'troupe-instructions' });
  let live;
  try {
    live = findSociety(runId);
  } catch (err) {
    // No live society: a finished run's store can still be read (and written) by starting its server.
    const dir = runId ? join(runsDir(), runId) : undefined;
    if (dir && existsSync(join(dir, 'nats'))) {
      const pid = storeInUse(join(dir, 'nats'));
      if (pid) throw new Error(`run ${runId}'s store is in use by nats-server pid ${pid} (a run still going?): pass --nats URL of that server`);
      return openNatsSession(undefined, { runDir: dir, name: 'troupe-instructions' });
    }
    throw new Error(`no NATS server given (--nats URL or TROUPE_NATS_URL) and ${(err as Error).message}`);
  }
  const creds = readNatsCredentials(live.runDir);
  if (!creds) throw new Error(`society ${live.runId} uses an external NATS server (${live.natsUrl}): pass --nats URL`);
  return openNatsSession(creds, { runDir: live.runDir, name: 'troupe-instructions' });
}

/** Pid of a nats-server already serving this store (two servers on one store would corrupt it). */
function storeInUse(storeDir: string): number | undefined {
  if (!existsSync('/proc')) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.startsWith(storeDir + '/'))) return Number(pid);
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}

function revisionArg(raw: string | undefined, what: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${what} must be a positive revision number, got "${raw}"`);
  return n;
}

class UsageError extends Error {}

function formatLineage(l: Lineage): string {
  const bits = [`rev ${l.revision}`, new Date(l.createdAt).toISOString(), `by ${l.author}`, l.action];
  if (l.restores !== undefined) bits.push(`restores ${l.restores}`);
  bits.push(l.parent !== undefined ? `parent ${l.parent}` : 'no parent');
  const lines = [bits.join('  ')];
  if (l.rationale) lines.push(`    rationale: ${l.rationale}`);
  if (l.failures.length) lines.push(`    failures: ${l.failures.join(', ')}`);
  return lines.join('\n');
}

function entryJson(e: Entry) {
  return { key: e.key, revision: e.revision, kind: e.kind, payload: e.payload, lineage: { ...e.lineage, created_at: new Date(e.lineage.createdAt).toISOString() } };
}

async function mustGet(kv: Awaited<ReturnType<typeof openInstructions>>, key: string, revision?: number): Promise<Entry> {
  const e = await getEntry(kv, key, revision);
  if (!e) throw new Error(revision ? `${key} has no revision ${revision} in the bucket` : `${key} has no instructions in the bucket`);
  return e;
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      revision: { type: 'string' },
      json: { type: 'boolean' },
      file: { type: 'string' },
      rationale: { type: 'string' },
      failures: { type: 'string' },
      author: { type: 'string' },
      'run-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      ...natsCliOptions,
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const [sub, key, ...rest] = positionals;
  const subs = ['show', 'history', 'diff', 'set', 'rollback'];
  if (!sub || !subs.includes(sub) || !key) {
    console.error(`troupe instructions: give a subcommand (${subs.join('|')}) and a KEY\n\n${HELP}`);
    return 2;
  }
  // Check the arguments before connecting, so a typo costs no server start.
  let payload: unknown;
  let revs: (number | undefined)[] = [];
  try {
    if (sub === 'set') {
      if (!values.file) throw new UsageError('set needs --file F');
      if (!values.rationale) throw new UsageError('set needs --rationale TEXT (why this revision)');
      if (!existsSync(values.file)) throw new UsageError(`--file ${values.file} does not exist`);
      const raw = readFileSync(values.file, 'utf8');
      if (isValueKey(key)) {
        try {
          payload = JSON.parse(raw);
        } catch (err) {
          throw new UsageError(`--file ${values.file}: ${key} takes JSON, and this is not (${(err as Error).message})`);
        }
      } else payload = raw;
    } else if (sub === 'rollback') {
      if (rest.length !== 1) throw new UsageError('rollback needs exactly one REVISION');
      revs = [revisionArg(rest[0], 'REVISION')];
    } else if (sub === 'diff') {
      if (rest.length > 2) throw new UsageError('diff takes at most two revisions');
      revs = rest.map((r, i) => revisionArg(r, i ? 'B' : 'A'));
    } else if (sub === 'show') revs = [revisionArg(values.revision, '--revision')];
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`troupe instructions ${sub}: ${err.message}\n\n${HELP}`);
    return 2;
  }
  const session = await openSession(natsSettingsFromFlags(values), values['run-id']);
  try {
    const kv = await openInstructions(session.nc);
    const author = values.author ?? 'human';
    switch (sub) {
      case 'show': {
        const e = await mustGet(kv, key, revs[0]);
        if (values.json) console.log(JSON.stringify(entryJson(e), null, 2));
        else process.stdout.write(`${key}\n${formatLineage(e.lineage)}\n\n${e.body.endsWith('\n') ? e.body : e.body + '\n'}`);
        return 0;
      }
      case 'history': {
        const all = await entryHistory(kv, key);
        if (!all.length) throw new Error(`${key} has no instructions in the bucket`);
        if (values.json) console.log(JSON.stringify(all.map(entryJson), null, 2));
        else for (const e of all) console.log(formatLineage(e.lineage));
        return 0;
      }
      case 'diff': {
        let [a, b] = revs;
        const to = await mustGet(kv, key, b);
        if (a === undefined) {
          if (to.lineage.parent === undefined) throw new Error(`${key}@${to.revision} has no parent revision: give A`);
          a = to.lineage.parent;
        }
        const from = await mustGet(kv, key, a);
        process.stdout.write(unifiedDiff(from.body, to.body, { fromLabel: `${key}@${from.revision}`, toLabel: `${key}@${to.revision}` }));
        return 0;
      }
      case 'set': {
        const failures = values.failures?.split(',').map((s) => s.trim()).filter(Boolean);
        const e = await setEntry(kv, key, payload, { author, rationale: values.rationale, failures });
        console.log(`${key}: revision ${e.revision} (parent ${e.lineage.parent ?? '-'})`);
        return 0;
      }
      case 'rollback': {
        const e = await rollbackEntry(kv, key, revs[0]!, { author, rationale: values.rationale });
        console.log(`${key}: revision ${e.revision} restores ${revs[0]} (parent ${e.lineage.parent ?? '-'})`);
        return 0;
      }
    }
    return 2;
  } finally {
    await session.close();
  }
}
