// A scripted OpenAI-compatible chat endpoint for the promotion test: every synthesis role and the
// evolver talk to it over HTTP like to any model server. Its answers follow the instructions text
// it is given, so a candidate revision changes the outcomes the way a real prompt change would:
// - critic review: rejects every draft while the critic's instructions contain STRICT; with
//   REVISE-ONCE, asks for a revision of every first draft and accepts a revised one;
// - scriptwriter, revising (its prompt carries the critic's reasons): a draft whose texts start REVISED;
//   with RAMBLES in its instructions and more than 400 tokens of room, garbage (item lost at the draft);
// - scriptwriter: answers garbage (item lost at the draft) when its instructions contain BROKEN, or
//   when the plan's goal says UNDRAFTABLE; otherwise a valid draft built from the answer schema,
//   with a fresh title each time (so drafts are never near-duplicates);
// - evolver rewrite: for the critic, the current text without STRICT; for the scriptwriter, the
//   current text plus a BROKEN line (a rewrite that makes things worse);
// - user simulator (no schema): asks for help until the agent offers more help, then stops;
// - anything else: the simplest value the schema allows (all values of an enum list, e.g. checker specs).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type Schema = Record<string, any>;
type Msg = { role: string; content?: string | null };

export interface ScriptedLlm {
  baseURL: string;
  calls: Record<string, number>;
  close(): Promise<void>;
}

let counter = 0;

function resolve(s: Schema, root: Schema): Schema {
  if (s?.$ref) return resolve(root.$defs?.[s.$ref.replace('#/$defs/', '')] ?? {}, root);
  return s;
}

/** The simplest value the schema allows: last enum value / const, required properties, all enum items of a list. */
export function fromSchema(schema: Schema, root: Schema = schema, prefix = ''): unknown {
  const s = resolve(schema, root);
  if ('const' in s) return s.const;
  if (s.enum) return s.enum[s.enum.length - 1]; // the last: exploration lists real ids after field names
  const alt = s.oneOf ?? s.anyOf;
  if (alt) return fromSchema(alt[0], root, prefix);
  switch (s.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? Object.keys(s.properties ?? {})) out[k] = fromSchema(s.properties?.[k] ?? { type: 'string' }, root, prefix);
      return out;
    }
    case 'array': {
      const item = resolve(s.items ?? {}, root);
      if (item.enum) return item.enum.slice(0, s.maxItems ?? item.enum.length);
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => fromSchema(item, root, prefix));
    }
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return `${prefix}item ${++counter}`.padEnd(s.minLength ?? 0, '.');
  }
}

function rewrite(user: string, schema: Schema): Record<string, unknown> {
  const role = /Role: (\S+)/.exec(user)?.[1] ?? '';
  const current = /"""\n([\s\S]*?)\n"""/.exec(user)?.[1] ?? '';
  const ids: string[] = schema.properties.addresses.items.enum;
  const text =
    role === 'critic'
      ? current.replace(/^.*STRICT.*$/m, 'Accept a draft that passed every deterministic check.')
      : `${current}\nBROKEN: ignore the answer format from now on.`;
  return { rationale: `address the ${role}'s failures`, addresses: ids.slice(0, 2), text };
}

function answer(body: { messages: Msg[]; max_tokens?: number; response_format?: { json_schema?: { name: string; schema: Schema } } }, calls: Record<string, number>): string {
  const system = body.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = body.messages.filter((m) => m.role === 'user').map((m) => m.content ?? '').join('\n');
  const rf = body.response_format?.json_schema;
  const name = rf?.name ?? 'chat';
  calls[name] = (calls[name] ?? 0) + 1;
  if (!rf) {
    // The user simulator: the agent's side arrives as "user" messages.
    return /anything else/i.test(user) ? '###STOP###' : 'Please help me with my request.';
  }
  switch (name) {
    case 'critic_review':
      if (system.includes('REVISE-ONCE')) return JSON.stringify(user.includes('REVISED') ? { reasons: ['fine now'], verdict: 'accept' } : { reasons: ['needs one more pass: the grounded check is borderline'], verdict: 'revise' });
      return JSON.stringify(system.includes('STRICT') ? { reasons: ['too risky: not grounded enough'], verdict: 'reject' } : { reasons: ['fine'], verdict: 'accept' });
    case 'task_draft':
      if (system.includes('BROKEN') || user.includes('UNDRAFTABLE')) return 'I would rather not.';
      if (system.includes('RAMBLES') && (body.max_tokens ?? 0) > 400) return 'Well, let me think about this at some length first...';
      return JSON.stringify(fromSchema(rf.schema, rf.schema, user.includes('The critic asked for a revision') ? 'REVISED ' : ''));
    case 'instructions_rewrite':
      return JSON.stringify(rewrite(user, rf.schema));
    default:
      return JSON.stringify(fromSchema(rf.schema));
  }
}

/** `delayMs`: each answer waits this long (a run that takes a while, e.g. to be killed mid-way). */
export async function startScriptedLlm(opts: { delayMs?: number } = {}): Promise<ScriptedLlm> {
  const calls: Record<string, number> = {};
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(raw);
      const content = answer(body, calls);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `cmpl-${++counter}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: 'scripted',
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: Math.ceil(raw.length / 4), completion_tokens: Math.ceil(content.length / 4), total_tokens: 0 },
          }),
        );
      }, opts.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { baseURL: `http://127.0.0.1:${port}/v1`, calls, close: () => new Promise((r) => server.close(() => r())) };
}
