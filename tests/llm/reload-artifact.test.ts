// Weight reload from the NATS object store (how the learner's new policy reaches the actor), and the
// embedded default server behind model "local".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Objm } from '@nats-io/obj';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlmClient, parseRoleModelConfig, UsageLedger } from '../../llm/client/index.ts';
import { parseNatsArtifactRef, redactArtifactRef } from '../../llm/server/artifact.ts';
import { ensureLocalModelServer, stopLocalModelServer } from '../../llm/server/embedded.ts';
import { startModelServer, type RunningModelServer } from '../../llm/server/server.ts';
import { defaultModelFile } from '../helpers/model.ts';
import { startTestNats, type TestNats } from '../helpers/nats.ts';

let nats: TestNats;
let server: RunningModelServer;
let home: string;
let modelFile: string;
const savedHome = process.env.TROUPE_HOME;
const savedLocal = process.env.TROUPE_LOCAL_MODEL;

beforeAll(async () => {
  const model = (modelFile = defaultModelFile());
  home = mkdtempSync(join(tmpdir(), 'troupe-home-'));
  process.env.TROUPE_HOME = home; // artifacts land in this test's own cache
  process.env.TROUPE_LOCAL_MODEL = model;
  nats = await startTestNats();
  server = await startModelServer({ model, port: 0, parallel: 2, contextSize: 1024 });
});

afterAll(async () => {
  await server?.close();
  await stopLocalModelServer();
  await nats?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.TROUPE_HOME;
  else process.env.TROUPE_HOME = savedHome;
  if (savedLocal === undefined) delete process.env.TROUPE_LOCAL_MODEL;
  else process.env.TROUPE_LOCAL_MODEL = savedLocal;
});

describe('reload from the NATS object store', () => {
  it('parses references and keeps credentials out of logs', () => {
    expect(parseNatsArtifactRef('nats://u:p%40ss@10.0.0.1:4222/policies/actor/v3.gguf')).toEqual({
      servers: 'nats://10.0.0.1:4222',
      bucket: 'policies',
      object: 'actor/v3.gguf',
      user: 'u',
      pass: 'p@ss',
    });
    expect(redactArtifactRef('nats://u:secret@h:1/b/o')).toBe('nats://***@h:1/b/o');
    expect(() => parseNatsArtifactRef('nats://host:4222/only-bucket')).toThrow(/bucket\/object/);
  });

  it('fetches the artifact and switches to it while a request is in flight', async () => {
    const store = await new Objm(nats.nc).create('policies');
    await store.putBlob({ name: 'actor/v2.gguf' }, new Uint8Array(readFileSync(modelFile)));
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0 });
    const inFlight = client.chat.completions.create({ model: server.modelId, messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 24 });
    const { url, user, pass } = nats.settings;
    const ref = `${url.replace('nats://', `nats://${user}:${encodeURIComponent(pass!)}@`)}/policies/actor/v2.gguf`;
    const res = await fetch(`${server.url}/admin/reload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifact: ref }) });
    const body = (await res.json()) as { path: string };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.path.startsWith(join(home, 'models', 'artifacts', 'policies'))).toBe(true);
    expect(readFileSync(body.path).equals(readFileSync(modelFile))).toBe(true);
    expect((await inFlight).choices[0].message.content?.length).toBeGreaterThan(0);
    expect(server.host.instance.path).toBe(body.path);

    const missing = await fetch(`${server.url}/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ artifact: ref.replace('v2.gguf', 'v9.gguf') }),
    });
    expect(missing.status).toBe(400);
    const err = ((await missing.json()) as { error: { message: string } }).error.message;
    expect(err).toMatch(/actor\/v9\.gguf.*not found/);
    expect(err).not.toContain(pass!);
  });
});

describe('the embedded default (model "local")', () => {
  it('starts one shared server on demand and streams through it', async () => {
    const a = await ensureLocalModelServer();
    const b = await ensureLocalModelServer();
    expect(b).toEqual(a);
    const ledger = new UsageLedger();
    const llm = new LlmClient({ role: 'user_simulator', config: parseRoleModelConfig('user_simulator', {}), ledger });
    expect(llm.config.model).toBe('local');
    let streamed = '';
    const res = await llm.stream({ messages: [{ role: 'user', content: 'Say hello.' }], maxTokens: 8, temperature: 0 }, (d) => (streamed += d.content ?? ''));
    expect(res.content).toBe(streamed);
    expect(streamed.length).toBeGreaterThan(0);
    expect(res.model).toBe(a.model);
    expect(ledger.byRole('user_simulator').completionTokens).toBe(res.usage.completionTokens);
    expect(res.usage.completionTokens).toBeGreaterThan(0);
  });
});
