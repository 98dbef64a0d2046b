// Connecting to NATS: a given URL with user/password, token or nkey credentials and TLS options,
// taken from flags or TROUPE_NATS_* environment variables.
import { readFileSync } from 'node:fs';
import './transport-guard.ts';
import { connect as natsConnect, nkeyAuthenticator, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

export interface NatsSettings {
  url: string;
  user?: string;
  pass?: string;
  token?: string;
  /** NKey seed (the `SU...` string) or a path to a file holding it. */
  nkeySeed?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** Connection name shown in server monitoring. */
  name?: string;
}

/** Settings from the environment (TROUPE_NATS_URL, _USER, _PASS, _TOKEN, _NKEY_SEED, _TLS_CA/_CERT/_KEY). */
export function natsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NatsSettings | undefined {
  if (!env.TROUPE_NATS_URL) return undefined;
  return {
    url: env.TROUPE_NATS_URL,
    user: env.TROUPE_NATS_USER,
    pass: env.TROUPE_NATS_PASS,
    token: env.TROUPE_NATS_TOKEN,
    nkeySeed: env.TROUPE_NATS_NKEY_SEED,
    tlsCa: env.TROUPE_NATS_TLS_CA,
    tlsCert: env.TROUPE_NATS_TLS_CERT,
    tlsKey: env.TROUPE_NATS_TLS_KEY,
  };
}

/** The same settings as environment variables, for child processes (credentials never go on argv). */
export function natsSettingsToEnv(s: NatsSettings): Record<string, string> {
  const out: Record<string, string> = { TROUPE_NATS_URL: s.url };
  const put = (k: string, v: string | undefined) => {
    if (v !== undefined) out[k] = v;
  };
  put('TROUPE_NATS_USER', s.user);
  put('TROUPE_NATS_PASS', s.pass);
  put('TROUPE_NATS_TOKEN', s.token);
  put('TROUPE_NATS_NKEY_SEED', s.nkeySeed);
  put('TROUPE_NATS_TLS_CA', s.tlsCa);
  put('TROUPE_NATS_TLS_CERT', s.tlsCert);
  put('TROUPE_NATS_TLS_KEY', s.tlsKey);
  return out;
}

/** Parsing-friendly option block for node:util parseArgs, shared by every command that connects. */
export const natsCliOptions = {
  nats: { type: 'string' },
  'nats-user': { type: 'string' },
  'nats-pass': { type: 'string' },
  'nats-token': { type: 'string' },
  'nats-nkey-seed': { type: 'string' },
  'nats-tls-ca': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
} as const;

/** Flags win over environment; returns undefined when no URL was given anywhere. */
export function natsSettingsFromFlags(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NatsSettings | undefined {
  // Credentials from the environment apply to a URL given by flag too (`--nats URL` with
  // TROUPE_NATS_USER/_PASS set): secrets need never be on the command line.
  const base = natsSettingsFromEnv({ ...env, TROUPE_NATS_URL: env.TROUPE_NATS_URL || 'unset' });
  const url = (values.nats as string | undefined) ?? env.TROUPE_NATS_URL;
  if (!url) return undefined;
  const pick = (flag: string, fallback?: string) => (values[flag] as string | undefined) ?? (fallback || undefined);
  return {
    url,
    user: pick('nats-user', base?.user),
    pass: pick('nats-pass', base?.pass),
    token: pick('nats-token', base?.token),
    nkeySeed: pick('nats-nkey-seed', base?.nkeySeed),
    tlsCa: pick('nats-tls-ca', base?.tlsCa),
    tlsCert: pick('nats-tls-cert', base?.tlsCert),
    tlsKey: pick('nats-tls-key', base?.tlsKey),
  };
}

function readSeed(seedOrPath: string): Uint8Array {
  const text = seedOrPath.trim().startsWith('S') && !seedOrPath.includes('/') ? seedOrPath : readFileSync(seedOrPath, 'utf8');
  const seed = text.split(/\s+/).find((w) => /^S[A-Z2-7]{20,}$/.test(w));
  if (!seed) throw new Error('nkey seed: no seed (a string starting with "S") found');
  return new TextEncoder().encode(seed);
}

export function connectionOptions(s: NatsSettings): NodeConnectionOptions {
  // noAsyncTraces: the client otherwise builds two Error objects (stack capture) per request — ~10% of
  // the CPU of a busy role.
  const opts: NodeConnectionOptions = { servers: s.url.split(','), name: s.name, maxReconnectAttempts: -1, noAsyncTraces: true };
  if (s.user !== undefined) {
    opts.user = s.user;
    opts.pass = s.pass;
  }
  if (s.token !== undefined) opts.token = s.token;
  if (s.nkeySeed) opts.authenticator = nkeyAuthenticator(readSeed(s.nkeySeed));
  if (s.tlsCa || s.tlsCert || s.tlsKey || s.url.startsWith('tls://')) {
    opts.tls = {
      caFile: s.tlsCa,
      certFile: s.tlsCert,
      keyFile: s.tlsKey,
    };
  }
  return opts;
}

/** A URL (or comma-separated list) with any `user:pass@` removed, for logs and state files. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/,]*@/g, '//');
}

export async function connectNats(s: NatsSettings): Promise<NatsConnection> {
  try {
    return await natsConnect(connectionOptions(s));
  } catch (err) {
    // Never echo credentials: the URL may embed user:pass.
    throw new Error(`cannot connect to NATS at ${redactUrl(s.url)}: ${(err as Error).message}`);
  }
}
