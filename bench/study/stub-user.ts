// TEST HARNESS for the tiny scale only: an OpenAI-compatible endpoint playing a user who asks once and
// then ends the dialogue (###STOP###). A random tiny model never says the stop token, so without it no
// synthesized dialogue of the CI test could end the way τ² grades (user_stop) and none would be
// verified. Never used at the small or full scale.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StubUser {
  baseURL: string;
  close(): Promise<void>;
}

export async function startStubUser(): Promise<StubUser> {
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let msgs: unknown[] = [];
      let stream = false;
      try {
        const j = JSON.parse(body || '{}') as { messages?: unknown[]; stream?: boolean };
        msgs = j.messages ?? [];
        stream = !!j.stream;
      } catch { /* empty body: first turn */ }
      const content = msgs.length < 4 ? 'Hi, please take care of my task as described.' : 'Thank you, that is all. ###STOP###';
      const message = { role: 'assistant', content };
      const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
      if (stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ id: 'stub', object: 'chat.completion.chunk', created: 0, model: 'stub-user', choices: [{ index: 0, delta: message, finish_reason: null }] })}\n\n`);
        res.write(`data: ${JSON.stringify({ id: 'stub', object: 'chat.completion.chunk', created: 0, model: 'stub-user', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage })}\n\n`);
        res.end('data: [DONE]\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'stub', object: 'chat.completion', created: 0, model: 'stub-user', choices: [{ index: 0, message, finish_reason: 'stop' }], usage }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
