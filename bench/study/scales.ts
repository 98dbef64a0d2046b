// The study's scales: `tiny` (the CI test: a tiny random model, a handful of items, every stage) and
// `small` (the largest run the 2-core machine allows in about an hour: SmolLM2-135M, LoRA, few
// dialogues), `full` (what the issue asks for; hours — see docs/study.md for the estimate).
export interface SynthRunSpec {
  plans: number;
  tasksPerPlan: number;
  seed: number;
  /** Who plays the agent: the gold-action oracle (teacher) or the base model. */
  actor: 'oracle' | 'llm';
}

export interface Scale {
  name: string;
  /** `default`: the default GGUF (SmolLM2-135M-Instruct Q4_1); `tiny`: a random 1-layer model with its tokenizer. */
  model: 'default' | 'tiny';
  seeds: number[];
  synth: {
    heldout: SynthRunSpec;
    train: SynthRunSpec;
    /**
     * More training runs (own seed, own NATS store), e.g. to grow a reused run's verified pool. Their
     * verified dialogues join `train`'s; a task whose gold write signature equals one already kept
     * (another run's) is dropped and counted (the critic's duplicate check sees one run only).
     */
    more?: (SynthRunSpec & { name: string })[];
    /** Extra played dialogues by the base model as agent (most fail their checker): the unverified pool. */
    unverified?: SynthRunSpec;
    maxSteps: number;
    userMaxTokens: number;
    agentMaxTokens: number;
    timeoutMin: number;
    /** The scriptwriter's exploration (default `model`); `scripted` saves its model calls. */
    exploration?: 'model' | 'scripted';
    /** TEST HARNESS (tiny scale): the synthesis user simulator is a stub that asks once, then stops. */
    userStub?: boolean;
  };
  /**
   * Reuse another scale's synthesis and held-out file (its out folder's synth/*.json and data/heldout,
   * and bench/study/heldout.<name>.json): a rerun of the training and evaluation stages on the same
   * data and the same held-out sets.
   */
  reuse?: string;
  /**
   * Copy these arms (trained weights and evaluations) from another scale's output folder instead of
   * training them again: for arms whose settings are identical here (the scale's note says why).
   */
  reuseArms?: { from: string; arms: string[] };
  /** Copy these synthesis runs (synth/<run>.json) from another scale's output folder. */
  reuseRuns?: { from: string; runs: string[] }[];
  /**
   * How the SFT data ends a dialogue. `as-played` (default): the teacher's closing, its follow-ups
   * ("Is there anything else…", `patience` of them) and its stop. `stop-after-reply`: the follow-ups
   * are dropped, so the agent stops on its first turn after the user answers the closing — exactly the
   * dialogue the teacher plays with patience 0 (the user's reply to the closing comes before any
   * follow-up, and follow-ups change no state). Why: with two identical follow-ups before the stop,
   * the student must count to know when to stop; the medium run's SFT'd agent never stopped.
   */
  sftClosing?: 'as-played' | 'stop-after-reply';
  /** Cap on τ² base tasks evaluated (in split order), 0 = all gradable. */
  baseTasks: number;
  sft: { steps: number; batchSize: number; lr: number; loraRank: number; maxSeqLen: number };
  userSft: { steps: number; batchSize: number; lr: number; loraRank: number; maxSeqLen: number };
  grpo: {
    steps: number; groupSize: number; groupsPerStep: number; lr: number; maxSteps: number; agentMaxTokens: number; concurrency: number; maxSeqLen: number;
    /** The rollout reward (the learner's `rollouts.reward`; default `checker`). */
    reward?: 'checker' | 'checker-and-ended';
  };
  eval: { maxSteps: number; agentMaxTokens: number; userMaxTokens: number; concurrency: number; nextcallMaxTokens: number; maxPrefixes: number };
  /**
   * The LLM agent may end a dialogue by saying ###STOP### (evaluation and GRPO rollouts; τ²'s solo-mode
   * rule). Default false, as τ²: there only the user ends a dialogue, and the 135M user never does.
   */
  agentMayStop?: boolean;
  /** Keep training tasks whose gold write signature equals a held-out task's (tiny scale only). */
  keepHeldoutSignatures?: boolean;
  /** Arms to run (all by default). */
  arms?: string[];
}

// The run of 2026-12-04 (second session): the user opens with its scenario and the verifier
// requires grounded dialogues (the small run's null result was ungrounded data); ≥ 150 training
// items, next-tool-call match for every arm and seed, pass^1 as far as the cores allow.
const MEDIUM: Scale = {
  name: 'medium',
  model: 'default',
  seeds: [1, 2, 3],
  synth: {
    heldout: { plans: 2, tasksPerPlan: 8, seed: 9101, actor: 'oracle' },
    // 150 training items would take ≈ 2 h here (≈ 44 s an item on the shared cores, first attempt);
    // this is what fits the session, reported as such.
    train: { plans: 4, tasksPerPlan: 30, seed: 2101, actor: 'oracle' },
    // No base-model-agent run (planned 1 × 4, seed 5101; dropped for time before any training):
    // the unverified pool is the training run's played dialogues, passed or failed.
    // A two-call task with the teacher's closing and two follow-ups is 13–15 messages (the first
    // attempt at 12 ended every dialogue at max_steps, which is not graded).
    maxSteps: 18,
    userMaxTokens: 32,
    exploration: 'scripted',
    agentMaxTokens: 120,
    timeoutMin: 120,
  },
  baseTasks: 0,
  // 8 steps × 4 dialogues (set before any training, for time: ≈ 75 s a step on the shared cores).
  sft: { steps: 8, batchSize: 4, lr: 1e-3, loraRank: 8, maxSeqLen: 2048 },
  userSft: { steps: 4, batchSize: 4, lr: 1e-3, loraRank: 8, maxSeqLen: 2048 },
  // Rollouts of 18 steps (the first GRPO attempt used 10: every rollout ended at max_steps, reward 0).
  grpo: { steps: 1, groupSize: 4, groupsPerStep: 2, lr: 1e-4, maxSteps: 18, agentMaxTokens: 96, concurrency: 2, maxSeqLen: 4096 },
  // maxSteps 18 as in synthesis: the first evaluation of the base arm used 10, shorter than the
  // teacher's closing sequence the agents are trained on (13–15 messages), so every dialogue ended
  // at max_steps (ungraded) and pass^1 was 0 by construction; rerun with 18 before any trained
  // arm's pass^1 existed (its results kept aside: eval-maxsteps10/).
  eval: { maxSteps: 18, agentMaxTokens: 96, userMaxTokens: 48, concurrency: 2, nextcallMaxTokens: 64, maxPrefixes: 40 },
};

export const SCALES: Record<string, Scale> = {
  tiny: {
    name: 'tiny',
    model: 'tiny',
    seeds: [1, 2],
    synth: {
      heldout: { plans: 1, tasksPerPlan: 2, seed: 9001, actor: 'oracle' },
      // Seed 9001 as the held-out run: with the task kinds a random model draws, 9002 verified none.
      train: { plans: 1, tasksPerPlan: 4, seed: 9001, actor: 'oracle' },
      userStub: true,
      maxSteps: 10,
      userMaxTokens: 16,
      agentMaxTokens: 16,
      timeoutMin: 5,
    },
    baseTasks: 2,
    keepHeldoutSignatures: true,
    // 2048: the user's view with its scenario opening is ≈ 1.1k tokens.
    sft: { steps: 2, batchSize: 2, lr: 1e-3, loraRank: 4, maxSeqLen: 2048 },
    userSft: { steps: 2, batchSize: 2, lr: 1e-3, loraRank: 4, maxSeqLen: 2048 },
    grpo: { steps: 1, groupSize: 2, groupsPerStep: 1, lr: 1e-3, maxSteps: 4, agentMaxTokens: 12, concurrency: 2, maxSeqLen: 1024 },
    eval: { maxSteps: 4, agentMaxTokens: 8, userMaxTokens: 8, concurrency: 4, nextcallMaxTokens: 8, maxPrefixes: 3 },
  },
  small: {
    name: 'small',
    model: 'default',
    seeds: [1, 2, 3],
    synth: {
      heldout: { plans: 1, tasksPerPlan: 3, seed: 9001, actor: 'oracle' },
      // One plan: with 3 plans the 135M meta-planner's plans 2 and 3 were too similar to plan 1 and
      // all their items were dropped at stage `plan` (first attempt, seed 1001: 0 verified of 9).
      train: { plans: 1, tasksPerPlan: 8, seed: 2002, actor: 'oracle' },
      unverified: { plans: 1, tasksPerPlan: 2, seed: 5001, actor: 'llm' },
      maxSteps: 14,
      userMaxTokens: 60,
      agentMaxTokens: 120,
      timeoutMin: 40,
    },
    baseTasks: 0,
    sft: { steps: 3, batchSize: 2, lr: 5e-4, loraRank: 8, maxSeqLen: 1024 },
    userSft: { steps: 2, batchSize: 2, lr: 5e-4, loraRank: 8, maxSeqLen: 1024 },
    grpo: { steps: 1, groupSize: 2, groupsPerStep: 2, lr: 1e-4, maxSteps: 10, agentMaxTokens: 96, concurrency: 2, maxSeqLen: 1024 },
    eval: { maxSteps: 12, agentMaxTokens: 96, userMaxTokens: 48, concurrency: 2, nextcallMaxTokens: 64, maxPrefixes: 12 },
  },
  medium: MEDIUM,
  // The medium run's data and held-out sets again (2026-12-05), after two fixes found by reading its
  // failures, both set before any of this run's results existed: the model server's tool grammar now
  // lets optional arguments be left out (every medium-run write carried an invented `description`),
  // and the SFT data stops after the user's reply to the closing (`sftClosing`). Arms: the base model
  // and SFT on verified dialogues; everything else as in `medium`.
  'medium-v2': {
    ...MEDIUM,
    name: 'medium-v2',
    reuse: 'medium',
    sftClosing: 'stop-after-reply',
    // Added at 01:25 UTC after the first sft-verified evaluation of this scale: the agent said
    // ###STOP### on time in 6 of 10 τ² base dialogues, but τ²'s LLM agent cannot end a dialogue and the
    // 135M user never does, so all 21 ran to max_steps (ungraded). The base arm's dialogues contain no
    // ###STOP###, so the rule leaves them as they were (checked; see docs/study.md).
    agentMayStop: true,
    arms: ['base', 'sft-verified'],
  },
  // The third pass on the medium data (2026-12-05, registered in protocol.json `mediumV3` before any
  // of its results): the two arms medium-v2 left out. (1) sft-unverified with real failures: a
  // synthesis run whose agent is the base model (1 plan × 12, seed 5101, the medium run's planned
  // and dropped one) puts failed dialogues in the unverified pool. (2) GRPO that can teach stopping:
  // reward `checker-and-ended` (medium-v2's `checker` reward paid 3 rollouts cut at max_steps, which
  // τ² grades 0), 3 steps instead of 1, lr 5e-4 instead of 1e-4 (Adam moves each parameter by about
  // lr a step: 1 step at 1e-4 flipped no greedy outcome). base and sft-verified are medium-v2's,
  // copied: this scale changes nothing they depend on.
  'medium-v3': {
    ...MEDIUM,
    name: 'medium-v3',
    reuse: 'medium',
    reuseArms: { from: 'medium-v2', arms: ['base', 'sft-verified'] },
    synth: { ...MEDIUM.synth, unverified: { plans: 1, tasksPerPlan: 12, seed: 5101, actor: 'llm' }, timeoutMin: 45 },
    sftClosing: 'stop-after-reply',
    agentMayStop: true,
    grpo: { ...MEDIUM.grpo, steps: 3, lr: 5e-4, reward: 'checker-and-ended' },
    arms: ['base', 'sft-verified', 'sft-unverified', 'grpo-filter', 'grpo-nofilter'],
  },
  // The run with the issue's data bar (registered 2026-12-05 03:25 UTC, protocol.json `large`, before
  // any of its results): ≥ 150 verified training dialogues from two oracle-played training runs
  // (medium's `train`, copied, and `train2`, new), a fresh synthesized held-out set (seed 9102: the
  // medium set was read while fixing the grammar and the closing, so it is no longer untouched), the
  // fixes of medium-v2 and the GRPO settings of medium-v3. SFT steps grow with the data: 20 × 4.
  large: {
    ...MEDIUM,
    name: 'large',
    reuseRuns: [{ from: 'medium', runs: ['train'] }, { from: 'medium-v3', runs: ['unverified'] }],
    synth: {
      ...MEDIUM.synth,
      heldout: { plans: 2, tasksPerPlan: 8, seed: 9102, actor: 'oracle' },
      // train3 added at 03:55, before any training: train2's meta-planner kept 2 of its 5 plans (the
      // other 3 repeated them: mock has few tool patterns), so 2 plans × 75 items.
      more: [{ name: 'train2', plans: 5, tasksPerPlan: 30, seed: 2102, actor: 'oracle' }, { name: 'train3', plans: 2, tasksPerPlan: 75, seed: 2103, actor: 'oracle' },
        // train4 added at 05:00, before any training: train, train2 and train3 give 116 verified after
        // the cross-run and held-out filters (train3 kept 1 of its 2 plans).
        { name: 'train4', plans: 2, tasksPerPlan: 40, seed: 2104, actor: 'oracle' },
        // train5 added at 05:34, before any training: four runs gave 132 (142 with the held-out set).
        { name: 'train5', plans: 2, tasksPerPlan: 40, seed: 2105, actor: 'oracle' }],
      unverified: { plans: 1, tasksPerPlan: 12, seed: 5101, actor: 'llm' },
      timeoutMin: 150,
    },
    sftClosing: 'stop-after-reply',
    agentMayStop: true,
    // maxSeqLen 3072 (set at 04:55, before any training): a train2/3 dialogue with three writes is
    // 2,082 tokens, over medium's 2,048 (toExamples refuses it rather than cut it).
    sft: { ...MEDIUM.sft, steps: 20, maxSeqLen: 3072 },
    grpo: { ...MEDIUM.grpo, steps: 3, lr: 5e-4, reward: 'checker-and-ended' },
    arms: ['base', 'sft-verified', 'sft-unverified', 'grpo-filter', 'grpo-nofilter'],
  },
  full: {
    name: 'full',
    model: 'default',
    seeds: [1, 2, 3],
    synth: {
      heldout: { plans: 8, tasksPerPlan: 5, seed: 9001, actor: 'oracle' },
      train: { plans: 32, tasksPerPlan: 6, seed: 1001, actor: 'oracle' },
      unverified: { plans: 16, tasksPerPlan: 6, seed: 5001, actor: 'llm' },
      maxSteps: 30,
      userMaxTokens: 120,
      agentMaxTokens: 200,
      timeoutMin: 1440,
    },
    baseTasks: 0,
    sft: { steps: 300, batchSize: 8, lr: 2e-4, loraRank: 16, maxSeqLen: 2048 },
    userSft: { steps: 150, batchSize: 8, lr: 2e-4, loraRank: 16, maxSeqLen: 2048 },
    grpo: { steps: 40, groupSize: 8, groupsPerStep: 8, lr: 5e-6, maxSteps: 30, agentMaxTokens: 200, concurrency: 4, maxSeqLen: 2048 },
    eval: { maxSteps: 30, agentMaxTokens: 200, userMaxTokens: 120, concurrency: 2, nextcallMaxTokens: 128, maxPrefixes: 200 },
  },
};

export const AGENT_ARMS = ['base', 'sft-verified', 'sft-unverified', 'grpo-filter', 'grpo-nofilter'] as const;
export const USER_ARMS = ['user-base', 'user-sft'] as const;
export const ALL_ARMS: string[] = [...AGENT_ARMS, ...USER_ARMS];
/** Arms without training: one evaluation, replicated across seeds for pairing. */
export const UNTRAINED = new Set(['base', 'user-base']);
