// The LLM layer's public surface.
export * from './errors.ts';
export * from './config.ts';
export * from './usage.ts';
export * from './retry.ts';
export * from './semaphore.ts';
export * from './validate.ts';
export * from './feedback.ts';
export { LlmClient, classify, sampledTokensOf, type SampledTokens, type ChatRequest, type ChatResult, type StreamDelta, type ToolChoice, type LlmClientOptions } from './client.ts';
