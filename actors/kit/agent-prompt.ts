// The agent's system prompt: our own short instruction block and the domain policy, each in its
// tag, the same structure τ²-bench's LLM agent uses (<instructions>…</instructions><policy>…</policy>).

export const AGENT_INSTRUCTIONS = [
  'You are a customer service agent. Help the user with their request, strictly following the policy below.',
  'On each turn, do exactly one of two things: write one message to the user, or make a tool call. Never both in the same turn.',
  'Only use the tools you are given, and write tool arguments as valid JSON.',
  'Be helpful, accurate and concise.',
].join('\n');

export function buildAgentSystemPrompt(policy: string, instructions: string = AGENT_INSTRUCTIONS): string {
  return `<instructions>\n${instructions}\n</instructions>\n<policy>\n${policy}\n</policy>`;
}
