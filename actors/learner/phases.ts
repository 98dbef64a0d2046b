// The contract between the learner's machine (role.ts) and a trainer that supplies its phases.
import type { CollectReport, RolloutGroup } from '../../nn/train/grpo.ts';

export interface GrpoStepMetrics {
  step: number;
  policyVersion: number;
  loss: number;
  clipFrac: number;
  /** Token-mean truncated behaviour importance weight min(π_prox/π_behav, cap); 1 when on-policy. */
  behaviourWeight: number;
  gradNorm: number;
  /** Mean reward over all drawn rollouts this step (before filtering). */
  reward: number;
  /** Fraction of drawn groups dropped by dynamic filtering or staleness. */
  filteredFrac: number;
  trainTokens: number;
  tokensPerSec: number;
  seconds: number;
  collect: CollectReport;
  skipped: boolean;
  /** Why a skipped step trained nothing. */
  skipReason?: string;
}

/** The three phases of one GRPO step, as the learner role invokes them. */
export interface GrpoPhases {
  collect(step: number): Promise<Collected>;
  update(step: number, c: Collected): Promise<GrpoStepMetrics>;
  publish(m: GrpoStepMetrics): Promise<void>;
}

export interface Collected {
  groups: RolloutGroup[];
  report: CollectReport;
  t0: number;
}
