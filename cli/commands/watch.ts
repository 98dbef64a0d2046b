// `troupe watch`: live message flow (subject, kind, size, latency = receive time − envelope sentAt).
// With --nats URL (or TROUPE_NATS_URL) it subscribes to the society's subjects directly; otherwise it
// asks the running society's control plane (WatchMessages), which holds the NATS credentials.
import { parseArgs } from 'node:util';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ALL_DEAD_LETTERS,
  ALL_MESSAGES,
  DEAD_LETTER_PREFIX,
  KIND_HEADER,
  MESSAGE_PREFIX,
} from '../../protocols/subjects.ts';
import { createControlClient, endpointClientOptions, readControlEndpoint } from '../../runtime/control/index.ts';
import type { MessageEvent } from '../../runtime/control/types.ts';
import { eventFromMessage, formatWatchLine, watchEventJson, WatchStats } from '../../runtime/control/watch-events.ts';
import { connectNats, natsCliOptions, natsSettingsFromFlags } from '../../runtime/nats/connect.ts';
import { findSociety } from '../../runtime/society/state.ts';

const USAGE = `usage: troupe watch [--nats URL [credentials]] [--subject S]... [--kind K]... [--json] [--count N] [--run-id ID]

Prints every message as it flows: time, subject, kind, size, latency (now − envelope sentAt),
sender role and trace id. Dead letters show their reason. Ctrl-C prints per-kind counts and
latency p50/p99.
  --nats URL      subscribe on this NATS server directly (also TROUPE_NATS_URL; --nats-user/-pass/
                  -token/-nkey-seed/-tls-* for credentials). Without it: the running society's
                  control plane (see troupe ps).
  --subject S     subject filter (repeatable; default ${ALL_MESSAGES} and ${ALL_DEAD_LETTERS})
  --kind K        only these message kinds (repeatable)
  --count N       exit after N messages
  --json          one JSON object per line
  --run-id ID     which society (default: the newest live one)`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...natsCliOptions,
      subject: { type: 'string', multiple: true },
      kind: { type: 'string', multiple: true },
      count: { type: 'string' },
      json: { type: 'boolean', default: false },
      'run-id': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const limit = values.count === undefined ? Infinity : Number(values.count);
  if (!(limit > 0) || (Number.isFinite(limit) && !Number.isInteger(limit))) throw new Error(`--count must be a positive integer (got "${values.count}")`);
  const kinds = values.kind ?? [];
  const stats = new WatchStats();
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);

  let seen = 0;
  const show = (ev: MessageEvent) => {
    if (kinds.length && !kinds.includes(ev.kind)) return;
    seen++;
    stats.add(ev);
    console.log(values.json ? watchEventJson(ev) : formatWatchLine(ev));
    if (seen >= limit) ac.abort();
  };

  try {
    const settings = natsSettingsFromFlags(values);
    if (settings) await watchNats(await connectNats({ ...settings, name: 'troupe-watch' }), values.subject ?? [ALL_MESSAGES, ALL_DEAD_LETTERS], settings.url, show, ac.signal);
    else await watchControl(values['run-id'], values.subject ?? [], kinds, show, ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
  if (!values.json) console.error(`\n${stats.summary()}`);
  return 0;
}

async function watchNats(nc: NatsConnection, subjects: string[], url: string, show: (ev: MessageEvent) => void, signal: AbortSignal): Promise<void> {
  const names = { kindHeader: KIND_HEADER, messagePrefix: MESSAGE_PREFIX, deadLetterPrefix: DEAD_LETTER_PREFIX };
  const subs = subjects.map((s) => nc.subscribe(s, { callback: (err, m) => {
    if (!err) show(eventFromMessage(m, Date.now(), names));
  } }));
  await nc.flush();
  console.error(`watching ${subjects.join(', ')} on ${url.replace(/\/\/[^@/]*@/, '//')} (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
    void nc.closed().then(() => resolve());
  });
  for (const s of subs) s.unsubscribe();
  await nc.close();
}

async function watchControl(runId: string | undefined, subjects: string[], kinds: string[], show: (ev: MessageEvent) => void, signal: AbortSignal): Promise<void> {
  let society;
  try {
    society = findSociety(runId);
  } catch (err) {
    throw new Error(`${(err as Error).message}; or pass --nats URL to watch a NATS server directly`);
  }
  const ep = readControlEndpoint(society.runDir);
  const client = createControlClient(ep.address, ep.token, endpointClientOptions(ep));
  const wanted = subjects.length ? subjects : [ALL_MESSAGES, ALL_DEAD_LETTERS];
  console.error(`watching ${wanted.join(', ')} of society ${society.runId} (${society.natsUrl}) via control plane ${ep.address} (Ctrl-C to stop)`);
  try {
    // One server stream per subject filter, merged; the first failure ends the watch.
    await Promise.all(wanted.map(async (subject) => {
      for await (const ev of client.watchMessages({ subject, kinds }, signal)) show(ev);
    }));
  } finally {
    client.close();
  }
}
