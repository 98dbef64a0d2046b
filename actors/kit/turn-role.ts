// What the two turn-answering roles (actor, user simulator) share when a worker hosts them: the
// domains they answer for. Each domain is its own request/reply subject (`troupe.rpc.agent.<domain>`,
// `troupe.rpc.user.<domain>`), so an instance subscribes to the ones it was given.
import { domainNames } from '../../domains/registry.ts';

/**
 * `TROUPE_<ROLE>_DOMAINS` (comma-separated), else every known domain. A domain's data is loaded on
 * its first request, so serving a domain whose τ² data is missing fails that request, not the start.
 */
export function servedDomains(role: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const key = `TROUPE_${role.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_DOMAINS`;
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return domainNames();
  const want = raw.split(',').map((d) => d.trim()).filter(Boolean);
  const known = new Set(domainNames());
  for (const d of want) if (!known.has(d)) throw new Error(`${key}: unknown domain "${d}" (known: ${[...known].join(', ')})`);
  return want;
}
