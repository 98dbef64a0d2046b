// The learner hands its policy to the actors: `troupe train` with a [publish] section exports the
// weights as GGUF, puts them into the NATS object store and has a running model server reload them.
// Real nats-server, real `troupe model serve` child process, a tiny model trained with the default
// model's tokenizer (so llama.cpp can load it).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainConfig } from '../../actors/learner/config.ts';
import { natsRefBase, notifyModelServers, publishNatsSettings } from '../../actors/learner/publish.ts';
import { runTraining } from '../../cli/drivers/train/train-run.ts';
import { parseNatsArtifactRef } from '../../llm/server/artifact.ts';
import { startServeCli, type ServeProcess } from '../llm/serve-cli.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';
import { setEnv } from '../helpers/env.ts';

let nats: TestNats;
let serve: ServeProcess;
const dir = mkdtempSync(join(tmpdir(), 'troupe-publish-'));
let restoreEnv: (() => void) | undefined;

beforeAll(async () => {
  nats = await startTestNats();
  // Its own TROUPE_HOME: the server caches fetched artifacts there.
  serve = await startServeCli(['--model', defaultModelFile(), '--parallel', '1', '--ctx-size', '512'], { TROUPE_HOME: join(dir, 'home') });
  restoreEnv = setEnv({ TROUPE_NATS_USER: nats.settings.user!, TROUPE_NATS_PASS: nats.settings.pass! });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
  restoreEnv?.();
});

describe('publishing the policy', () => {
  it('builds references the model server parses, credentials from the URL or the environment', () => {
    const s = publishNatsSettings({ nats: 'nats://u:p%40ss@10.0.0.1:4333', bucket: 'b', every: 1, dtype: 'F16', modelServers: [], keep: 0 }, {});
    expect(s).toMatchObject({ url: 'nats://10.0.0.1:4333', user: 'u', pass: 'p@ss' });
    expect(parseNatsArtifactRef(`${natsRefBase(s)}/policies/actor/v3-step30.f16.gguf`)).toEqual({ servers: 'nats://10.0.0.1:4333', bucket: 'policies', object: 'actor/v3-step30.f16.gguf', user: 'u', pass: 'p@ss' });
    expect(natsRefBase(publishNatsSettings({ bucket: 'b', every: 1, dtype: 'F16', modelServers: [], keep: 0 }, { TROUPE_NATS_URL: 'h1', TROUPE_NATS_TOKEN: 't' }))).toBe('nats://t@h1:4222');
    expect(() => publishNatsSettings({ bucket: 'b', every: 1, dtype: 'F16', modelServers: [], keep: 0 }, {})).toThrow(/no NATS URL/);
  });

  it('reports a model server that cannot be reached instead of throwing', async () => {
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((res) => probe.close(res)); // nothing listens there now
    const [r] = await notifyModelServers([`http://127.0.0.1:${port}/`], 'nats://h:1/b/o', { timeoutMs: 5000 });
    expect(r).toMatchObject({ url: `http://127.0.0.1:${port}`, ok: false });
    expect(r.error).toMatch(/ECONNREFUSED/);
  });

  it('sft publishes every step; the server reloads each version and answers; the newest replaces the older', async () => {
    const out = join(dir, 'run');
    const cfg = parseTrainConfig(`[model.random]\ndim = 16\nnLayers = 1\nnHeads = 2\nnKvHeads = 1\nheadDim = 8\nffnDim = 32\n[data]\npath = "tests/learner/fixtures/store-dialogues.jsonl"\n[train]\nsteps = 2\nbatchSize = 2\nmicroBatch = 2\nlr = 0.01\n[output]\ndir = "${out}"\nexport = ["safetensors"]\ncheckpointEvery = 0\n[publish]\nnats = "${nats.settings.url}"\nbucket = "policies"\nname = "agent"\nevery = 1\nkeep = 1\nmodelServers = ["${serve.url}", "http://127.0.0.1:1"]\n`, 'publish.toml');
    const r = await runTraining('sft', cfg, { quiet: true });
    expect(r.summary.published).toBe('v1 (failed), v2 (failed)'); // "failed": the second server is unreachable

    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const pubs = rows.filter((x) => x.event === 'publish');
    expect(pubs.map((p) => [p.step, p.publishedVersion])).toEqual([[1, 1], [2, 2]]);
    for (const p of pubs) {
      expect(p.publish.ok).toBe(true);
      expect(p.publish.ref).toMatch(/^nats:\/\/\*\*\*@127\.0\.0\.1:\d+\/policies\/agent\/v\d-step\d\.f16\.gguf$/); // no credentials in the log
      expect(p.publish.servers[0]).toMatchObject({ url: serve.url, ok: true, status: 200 });
      expect(p.publish.servers[1]).toMatchObject({ url: 'http://127.0.0.1:1', ok: false });
    }
    expect(pubs[1].publish.pruned).toEqual(['agent/v1-step1.f16.gguf']);

    // The object store holds only the newest policy, with its metadata and the bytes the server now serves.
    const store = await new Objm(nats.nc).open('policies');
    const names = (await store.list()).filter((o) => !o.deleted).map((o) => o.name);
    expect(names).toEqual(['agent/v2-step2.f16.gguf']);
    const info = (await store.info('agent/v2-step2.f16.gguf'))!;
    expect(info.metadata).toMatchObject({ step: '2', policyVersion: '2', format: 'gguf-f16', sha256: pubs[1].publish.sha256 });
    const health = (await (await fetch(`${serve.url}/health`)).json()) as { path: string };
    expect(health.path).toMatch(/artifacts\/policies\/agent_v2-step2\.f16\.gguf$/);
    expect(createHash('sha256').update(readFileSync(health.path)).digest('hex')).toBe(pubs[1].publish.sha256);
    expect(pubs[0].publish.sha256).not.toBe(pubs[1].publish.sha256); // a training step changed the weights

    // The reloaded tiny policy serves chat completions under the same model id.
    const models = (await (await fetch(`${serve.baseURL}/models`)).json()) as { data: { id: string }[] };
    expect(models.data[0].id).toBe(serve.modelId);
    const res = await fetch(`${serve.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: serve.modelId, messages: [{ role: 'user', content: 'Hello?' }], max_tokens: 4, temperature: 0 }),
    });
    const chat = (await res.json()) as { choices: { message: { role: string } }[]; usage: { prompt_tokens: number } };
    expect(res.status, JSON.stringify(chat)).toBe(200);
    expect(chat.choices[0].message.role).toBe('assistant');
    expect(chat.usage.prompt_tokens).toBeGreaterThan(0);
  }, 120_000);

  it('a reload the server rejects is logged, training finishes and the server keeps its weights', async () => {
    const before = ((await (await fetch(`${serve.url}/health`)).json()) as { path: string }).path;
    const out = join(dir, 'grpo');
    // The toy task's model has no tokenizer: NATS takes it, llama.cpp cannot load it.
    const cfg = parseTrainConfig(`[train]\nsteps = 2\nlr = 0.03\nmicroBatch = 64\n[grpo]\ngroupsPerStep = 4\nmaxAttempts = 16\n[output]\ndir = "${out}"\nexport = ["safetensors"]\ncheckpointEvery = 0\n[publish]\nnats = "${nats.settings.url}"\nbucket = "policies"\nname = "toy"\nevery = 2\nmodelServers = ["${serve.url}"]\n`, 'toy.toml');
    const r = await runTraining('grpo', cfg, { quiet: true });
    expect(r.summary.steps).toBe(2);
    const pubs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.event === 'publish');
    expect(pubs).toHaveLength(1); // step 2 is both the periodic and the final publish
    expect(pubs[0].publish.ok).toBe(true);
    expect(pubs[0].publish.servers[0].ok).toBe(false);
    expect(pubs[0].publish.servers[0].status).toBeGreaterThanOrEqual(400);
    expect(r.summary.published).toBe(`v${pubs[0].publishedVersion} (failed)`);
    expect(((await (await fetch(`${serve.url}/health`)).json()) as { path: string }).path).toBe(before);
  }, 60_000);
});
