// One place that turns "maybe a URL" into a live NATS connection: connect to the given server, or
// start an embedded one under the run directory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { runsDir } from '../config/paths.ts';
import { connectNats, type NatsSettings } from './connect.ts';
import { startEmbeddedNats, type EmbeddedNats } from './embedded.ts';
import { ensureStreams, type StreamSettings } from './streams.ts';

export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(2).toString('hex')}`;
}

export function runDir(runId: string): string {
  const d = join(runsDir(), runId);
  mkdirSync(d, { recursive: true });
  return d;
}

export interface NatsSession {
  nc: NatsConnection;
  settings: NatsSettings;
  /** Present when this session started its own server. */
  embedded?: EmbeddedNats;
  close(): Promise<void>;
}

export async function openNatsSession(
  given: NatsSettings | undefined,
  opts: { runDir: string; name?: string; streams?: StreamSettings },
): Promise<NatsSession> {
  let embedded: EmbeddedNats | undefined;
  let settings = given;
  if (!settings) {
    embedded = await startEmbeddedNats(join(opts.runDir, 'nats'));
    settings = { url: embedded.url, user: embedded.user, pass: embedded.pass };
  }
  let nc: NatsConnection;
  try {
    nc = await connectNats({ ...settings, name: opts.name });
    await ensureStreams(nc, opts.streams);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  return {
    nc,
    settings,
    embedded,
    async close() {
      await nc.drain().catch(() => nc.close());
      // Stop the server only once the client is fully closed, never under a live connection.
      await nc.closed();
      await embedded?.stop();
    },
  };
}
