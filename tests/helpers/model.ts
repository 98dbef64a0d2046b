// The default local model for tests. `npm run setup` pulls it (`troupe model pull`); tests that need
// it fail loudly when it is missing instead of being skipped.
import { existsSync } from 'node:fs';
import { defaultModelPath } from '../../llm/store/catalog.ts';

export function defaultModelFile(): string {
  const path = defaultModelPath();
  if (!existsSync(path)) {
    throw new Error(`the default model is missing at ${path}: run "npm run setup" or "node bin/troupe.js model pull" first`);
  }
  return path;
}
