// The verifier role in `code` mode, one unit: the model (a scripted OpenAI-compatible endpoint, so the
// answer is known) writes the checker's JavaScript; the verifier validates it in the sandbox and keeps
// it, or falls back to the full-diff checker when it does not validate.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifierRole } from '../../actors/verifier/role.ts';
import { runRoleMachine } from '../../runtime/host/host.ts';
import { LlmClient, parseRoleModelConfig } from '../../llm/client/index.ts';
import { getDomain } from '../../domains/registry.ts';
import { expectedOutcome } from '../../actors/scriptwriter/draft.ts';
import type { Envelope } from '../../protocols/envelope.ts';
import type { TaskReady, TaskReviewed } from '../../protocols/synthesis.ts';
import { completeTask } from './fixtures/mock-tasks.ts';

import '../helpers/tau2.ts';

const GOOD = `function check(initialState, finalState, trajectory) {
  const t = finalState.agent.tasks.task_1;
  const called = trajectory.some((m) => (m.tool_calls || []).some((c) => c.name === 'update_task_status'));
  return { pass: !!t && t.status === 'completed' && called, reasons: [] };
}`;
const LAZY = 'function check() { return { pass: true, reasons: [] }; }';

let answer = GOOD;
let server: Server;
let baseURL = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'scripted',
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: JSON.stringify({ source: answer }) } }],
          usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const mock = getDomain('mock');
const accepted = (): TaskReviewed => ({
  runId: 'r',
  domain: 'mock',
  planId: 'p',
  itemId: 'i',
  round: 0,
  plan: { synthesis: { tier: 'easy', toolPatterns: ['write:update_task_status'], userStyle: 'terse', persona: 'x', goal: 'complete the task' }, evaluation: { rubric: ['x'], failureTaxonomy: ['x'] }, maxRevisions: 0 },
  task: completeTask,
  exploration: [{ name: 'get_users', arguments: {}, output: '[{"user_id": "user_1", "tasks": ["task_1"]}]', error: false }],
  expected: expectedOutcome(mock, completeTask),
  verdicts: [],
  provenance: { runId: 'r', planId: 'p', itemId: 'i', traceId: null, roles: {}, tokens: { prompt: 0, completion: 0 } },
});

async function runVerifier(): Promise<TaskReady> {
  const llm = new LlmClient({ role: 'verifier', config: parseRoleModelConfig('verifier', { model: 'scripted', baseURL, maxRetries: 0 }) });
  const role = verifierRole({ domain: getDomain, llm, checkerMode: 'code' });
  const data = accepted();
  const out = await runRoleMachine(role, { message: { id: 'm', kind: 'synth.task.accepted', v: 1, from: { role: 'critic', instance: 'c' }, sentAt: 0, data } as Envelope<any>, data, delivery: 1, role: { name: 'verifier', impl: role.impl, instance: 'v1' } });
  expect(out.map((o) => o.kind)).toEqual(['synth.task.ready']);
  return out[0].data as TaskReady;
}

describe('verifier writes checker code with its model', () => {
  it('keeps model-written code that validates', async () => {
    answer = GOOD;
    const r = await runVerifier();
    expect(r.checker.origin).toBe('llm');
    expect(r.checker.source).toBe(GOOD);
    expect(r.checker.validation.every((v) => v.ok)).toBe(true);
    expect(r.provenance.tokens).toEqual({ prompt: 11, completion: 7 });
    expect(r.provenance.roles.verifier.model).toBe('scripted');
  });

  it('rejects model code that passes on the initial state and falls back to the diff checker', async () => {
    answer = LAZY;
    const r = await runVerifier();
    expect(r.checker.origin).toBe('diff');
    const rejected = r.checker.rejectedCandidates[0];
    expect(rejected.origin).toBe('llm-code');
    expect(rejected.validation.find((v) => v.case === 'initial')).toMatchObject({ pass: true, ok: false });
    expect(r.task.evaluation_criteria?.env_assertions?.length).toBeGreaterThan(0);
  });

  it('model code that tries to escape is a failed candidate, not a crash', async () => {
    answer = 'function check() { return { pass: !!require("fs"), reasons: [] }; }';
    const r = await runVerifier();
    expect(r.checker.origin).toBe('diff');
    expect(r.checker.rejectedCandidates[0].validation.every((v) => v.status === 'forbidden')).toBe(true);
  });
});
