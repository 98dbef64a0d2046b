// The society's NATS as an artifact reference base (`nats://user:pass@host:port`): where published
// weights are found. Its own file so the hosted learner role can name the society's address without
// loading TensorFlow.js (publish.ts does).
import type { NatsSettings } from '../../runtime/nats/connect.ts';

/** `nats://[user:pass@|token@]host:port` from connection settings (first server only). */
export function natsRefBase(s: NatsSettings): string {
  const first = s.url.split(',')[0].trim();
  const m = /^(?:(nats|tls):\/\/)?(?:([^@/]*)@)?([^@/]+?)\/?$/.exec(first);
  if (!m) throw new Error(`cannot make an artifact reference from NATS URL "${first}"`);
  const scheme = m[1] ?? (s.tlsCa || s.tlsCert ? 'tls' : 'nats');
  const enc = encodeURIComponent;
  const cred = s.user !== undefined ? `${enc(s.user)}:${enc(s.pass ?? '')}@` : s.token ? `${enc(s.token)}@` : m[2] ? `${m[2]}@` : '';
  const hostPort = m[3].includes(':') ? m[3] : `${m[3]}:4222`;
  return `${scheme}://${cred}${hostPort}`;
}
