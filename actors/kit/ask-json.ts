// One grammar-constrained JSON question to a role's model. A malformed or schema-violating answer is
// a lost item (returned as `error`), not a crash; endpoint failures throw so the host retries.
import { LlmClient, LlmHttpError, MalformedOutputError } from '../../llm/client/index.ts';

export interface JsonQuestion {
  system: string;
  user: string;
  name: string;
  schema: Record<string, unknown>;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
}

export interface JsonAnswer<T> {
  value: T | null;
  error: string | null;
  model: string | null;
  tokens: { prompt: number; completion: number };
}

export async function askJson<T>(client: LlmClient, q: JsonQuestion): Promise<JsonAnswer<T>> {
  try {
    const r = await client.chat({
      messages: [
        { role: 'system', content: q.system },
        { role: 'user', content: q.user },
      ],
      jsonSchema: { name: q.name, schema: q.schema },
      maxTokens: q.maxTokens,
      temperature: q.temperature,
      seed: q.seed,
    });
    return { value: (r.json ?? null) as T | null, error: r.json == null ? 'model gave no JSON answer' : null, model: r.model, tokens: { prompt: r.usage.promptTokens, completion: r.usage.completionTokens } };
  } catch (err) {
    if (err instanceof MalformedOutputError) {
      return { value: null, error: `malformed answer: ${err.message.slice(0, 300)}`, model: client.config.model, tokens: { prompt: 0, completion: 0 } };
    }
    // A request the endpoint refuses (4xx other than rate limiting: e.g. a schema it cannot turn into
    // a grammar) will be refused again on redelivery: the item is lost here, with the reason.
    if (err instanceof LlmHttpError && err.status >= 400 && err.status < 500 && err.status !== 429) {
      return { value: null, error: `endpoint refused the request: ${err.message.slice(0, 300)}`, model: client.config.model, tokens: { prompt: 0, completion: 0 } };
    }
    throw err;
  }
}
