/**
 * Domain registry: name -> DomainSpec (τ²'s `registry.py`). To add a domain, import its spec and
 * add one entry to DOMAINS (telecom and telecom-workflow are registered by the telecom module).
 */
import type { DomainSpec } from './core/domain.ts';
import { airlineDomain } from './airline/index.ts';
import { mockDomain } from './mock/index.ts';
import { retailDomain } from './retail/index.ts';
import { telecomDomain, telecomWorkflowDomain } from './telecom/index.ts';

const DOMAINS: Record<string, DomainSpec> = {
  mock: mockDomain,
  airline: airlineDomain,
  retail: retailDomain,
  telecom: telecomDomain,
  'telecom-workflow': telecomWorkflowDomain,
  // --- extension point: one line per domain ---
};

/** Register a domain at run time (tests, plug-ins). Replaces an existing entry of the same name. */
export function registerDomain(spec: DomainSpec): void {
  DOMAINS[spec.name] = spec;
}

export function domainNames(): string[] {
  return Object.keys(DOMAINS);
}

/** The domain called `name`; throws naming the known domains otherwise. */
export function getDomain(name: string): DomainSpec {
  const d = DOMAINS[name];
  if (!d) throw new Error(`unknown τ² domain "${name}"; known domains: ${domainNames().join(', ')}`);
  return d;
}
