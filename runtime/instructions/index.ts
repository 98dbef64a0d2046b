export * from './instructions.ts';
export * from './lineage.ts';
export * from './diff.ts';
export * from './live.ts';
