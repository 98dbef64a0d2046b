// The society's language: envelope, message kinds, subject names.
export * from './subjects.ts';
export * from './envelope.ts';
export * from './runtime-messages.ts';
