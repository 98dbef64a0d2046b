// Checkpoints that resume a stopped run: trainable weights, AdamW moments and the counters, each
// file written atomically (write to .tmp, rename) so a crash leaves the previous checkpoint intact.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../backend/backend.ts';
import { readSafetensors, writeSafetensors } from '../model/export.ts';
import { trainableVariables, type LlamaModel } from '../model/llama.ts';
import type { AdamWState } from './adamw.ts';

export interface CheckpointState {
  mode: string;
  step: number;
  policyVersion: number;
  adamStep: number;
  savedAt: string;
}

export function saveCheckpoint(dir: string, model: LlamaModel, adam: AdamWState, state: Omit<CheckpointState, 'adamStep' | 'savedAt'>): void {
  mkdirSync(dir, { recursive: true });
  const weights = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [n, v] of trainableVariables(model)) weights.set(n, { data: (v.dataSync() as Float32Array).slice(), shape: v.shape });
  writeSafetensors(join(dir, 'weights.safetensors'), weights);
  const moments = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const [n, m] of adam.m) moments.set(`m.${n}`, { data: m, shape: [m.length] });
  for (const [n, v] of adam.v) moments.set(`v.${n}`, { data: v, shape: [v.length] });
  writeSafetensors(join(dir, 'optimizer.safetensors'), moments);
  const full: CheckpointState = { ...state, adamStep: adam.step, savedAt: new Date().toISOString() };
  writeFileSync(join(dir, 'state.json.tmp'), JSON.stringify(full, null, 2));
  renameSync(join(dir, 'state.json.tmp'), join(dir, 'state.json'));
}

export function hasCheckpoint(dir: string): boolean {
  return existsSync(join(dir, 'state.json'));
}

/** Restores weights into `model` and returns the optimizer state and counters. */
export function loadCheckpoint(dir: string, model: LlamaModel, expectMode: string): { state: CheckpointState; adam: AdamWState } {
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  if (state.mode !== expectMode) throw new Error(`checkpoint in ${dir} is from a "${state.mode}" run, not "${expectMode}"`);
  const { tensors } = readSafetensors(join(dir, 'weights.safetensors'));
  for (const [n, v] of trainableVariables(model)) {
    const t = tensors.get(n);
    if (!t || t.data.length !== v.size) throw new Error(`checkpoint in ${dir} does not match the model (tensor ${n})`);
    v.assign(tf.tensor(t.data, v.shape));
  }
  const adam: AdamWState = { step: state.adamStep, m: new Map(), v: new Map() };
  for (const [k, t] of readSafetensors(join(dir, 'optimizer.safetensors')).tensors) {
    if (k.startsWith('m.')) adam.m.set(k.slice(2), t.data);
    else if (k.startsWith('v.')) adam.v.set(k.slice(2), t.data);
  }
  return { state, adam };
}
