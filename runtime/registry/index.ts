export * from './registry.ts';
export * from './runs.ts';
