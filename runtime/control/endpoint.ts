// Where a running society's control plane can be found: `<runDir>/control.json` (mode 0600, since it
// holds the token). `troupe up` writes it; ps / swap / instructions read it.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ControlEndpoint {
  address: string;
  token: string;
  pid?: number;
  /** Path of the PEM CA / server certificate when the control plane serves TLS. */
  tlsCa?: string;
}

/** Client options for an endpoint (reads its TLS CA file when it has one). */
export function endpointClientOptions(ep: ControlEndpoint): { tls?: { ca: Buffer } } {
  return ep.tlsCa ? { tls: { ca: readFileSync(ep.tlsCa) } } : {};
}

export function controlEndpointFile(runDir: string): string {
  return join(runDir, 'control.json');
}

export function writeControlEndpoint(runDir: string, ep: ControlEndpoint): string {
  const file = controlEndpointFile(runDir);
  writeFileSync(file, JSON.stringify(ep, null, 2) + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function readControlEndpoint(runDir: string): ControlEndpoint {
  const file = controlEndpointFile(runDir);
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no control endpoint at ${file}: is a society running from this run directory (troupe up)?`);
  }
  const ep = JSON.parse(raw) as Partial<ControlEndpoint>;
  if (typeof ep.address !== 'string' || typeof ep.token !== 'string') {
    throw new Error(`${file} is not a control endpoint file (needs "address" and "token")`);
  }
  return ep as ControlEndpoint;
}
