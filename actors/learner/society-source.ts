// GRPO rollouts through the society: for each task of an RL export, G dialogues played over NATS —
// the actor (agent service) answering from a model server that serves the current policy, the user
// simulator and the environment as services — each rewarded by the task's checker (sandboxed) on the
// state the dialogue leaves behind, and turned into learner tokens with the model server's own
// rendering (agent-generated tokens marked).
//
// Decisions where the brief is silent:
// - the policy version of a rollout is the version the model server reports loaded (its /health path,
//   `…_v<N>-step<S>.<dtype>.gguf` from publish.ts) when the dialogue starts; before any publish reached
//   it, `baseVersion`. With several servers, the oldest one counts (the agent may hit any of them);
// - the agent asks its model server for logprobs; each generated turn carries the sampled token ids
//   and their log-probs (raw_data.sampled), which are trained exactly, with the decoupled off-policy
//   correction (step.ts). A turn without them is trained on its re-rendering, as on-policy (counted);
// - a dialogue that ends in `infrastructure_error` (a service unreachable) is replayed up to
//   `infraAttempts` times, then the group fails loudly: broken plumbing is not a reward of 0. Any other
//   ending (user stop, max steps, agent error) is the policy's and gets the checker's verdict;
// - a checker that cannot run (error, timeout) gives 0 and is counted in `stats.checkerErrors`;
// - the agent's system prompt and tools are rebuilt here the way the actor builds them
//   (actors/actor/for-domain.ts), since the dialogue result carries only the messages.
import type { NatsConnection } from '@nats-io/transport-node';
import type { Sender } from '../../protocols/envelope.ts';
import type { DialogueLimits, DialogueResult, Message } from '../../protocols/dialogue.ts';
import { getDomain } from '../../domains/registry.ts';
import type { DomainSpec } from '../../domains/core/domain.ts';
import { runChecker } from '../../sandbox/checker-sandbox.ts';
import { tokenizeSampledRollout, type ChatTokenizer, type SampledTurn } from '../../nn/model/tokenizer.ts';
import type { ChatMessage, ToolSpec } from '../../nn/model/chat-format.ts';
import type { PlayRemoteScene } from '../kit/remote.ts';
import { historyFromTask } from '../kit/task-env.ts';
import { agentView } from '../kit/views.ts';
import { toAgentChat } from '../kit/agent.ts';
import { buildAgentSystemPrompt } from '../kit/agent-prompt.ts';
import { dialogueFinalState, initialEnvironment, stateOf } from '../../domains/tasks/states.ts';
import { makeRng } from '../../nn/model/sample.ts';
import type { Rollout, RolloutGroup, RolloutSource } from '../../nn/train/grpo.ts';
import type { RlTask } from './rl-tasks.ts';

export interface SocietySourceOptions {
  nc: NatsConnection;
  tasks: readonly RlTask[];
  groupSize: number;
  /** Dialogues of a group played at once. */
  concurrency: number;
  /** τ² max_steps of a dialogue (agent, user and environment turns). */
  maxSteps: number;
  maxErrors?: number;
  tokenizer: ChatTokenizer;
  /** Model servers serving the policy (http://host:port); their loaded version is read from /health. */
  modelServers: readonly string[];
  /** Version of whatever a server runs before a publish reached it. */
  baseVersion?: number;
  /** A training sequence longer than this is an error naming both lengths (never cut). */
  maxSeqLen: number;
  /**
   * The learner's current policy version and staleness limit: a dialogue is not started while the
   * servers run a policy older than version − maxStaleness (it would be dropped after being played).
   */
  staleness?: { maxStaleness: number };
  seed?: number;
  rpcTimeoutMs?: number;
  infraAttempts?: number;
  from?: Sender;
  /** Plays one dialogue over the bus (the scene's player, actors/scene/play.ts, wired by the caller). */
  play: PlayRemoteScene;
  /** Called after each finished rollout (progress lines). */
  onRollout?: (r: SocietyRolloutInfo) => void;
  /**
   * `checker` (default): the reward is the checker's verdict on the final state, however the dialogue
   * ended. `checker-and-ended`: 1 only if the checker passes AND the dialogue ended as τ² grades it
   * (user_stop / agent_stop) — τ² gives 0 to a dialogue cut at max_steps, so the plain checker
   * reward never teaches a policy to finish.
   */
  reward?: 'checker' | 'checker-and-ended';
}

/** Terminations τ² grades; anything else scores 0 there. */
const GRADED_TERMINATIONS = new Set(['user_stop', 'agent_stop']);

/** A rollout's reward from its checker verdict and how it ended (see SocietySourceOptions.reward). */
export function rolloutReward(checkerPass: boolean, termination: string, mode: SocietySourceOptions['reward'] = 'checker'): 0 | 1 {
  return checkerPass && (mode !== 'checker-and-ended' || GRADED_TERMINATIONS.has(termination)) ? 1 : 0;
}

export interface SocietyRolloutInfo {
  taskId: string;
  dialogueId: string;
  reward: number;
  termination: string;
  checker: string;
  policyVersion: number;
  tokens: number;
  agentTokens: number;
  seconds: number;
  /** The whole dialogue (for logs and tests). */
  result: DialogueResult;
}

export interface SocietySourceStats {
  groups: number;
  dialogues: number;
  infraRetries: number;
  checkerErrors: number;
  /** Extra training sequences because sampled turns differed from their re-rendering (tokenizeSampledRollout). */
  split: number;
  /** Generated agent turns without sampling data (trained on their re-rendering, as on-policy). */
  unsampledTurns: number;
  terminations: Record<string, number>;
}

const VERSION_IN_PATH = /v(\d+)-step\d+\.[A-Za-z0-9_]+\.gguf$/;

/** The policy version a model server has loaded, from its /health path; `base` when it is not a published policy. */
export async function servedPolicyVersion(url: string, base = 0): Promise<number> {
  const u = url.replace(/\/+$/, '').replace(/\/v1$/, '');
  let res: Response;
  try {
    res = await fetch(`${u}/health`, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`model server ${u} is unreachable: ${cause ?? (e as Error).message}`);
  }
  if (!res.ok) throw new Error(`model server ${u}/health answered HTTP ${res.status}`);
  const body = (await res.json()) as { path?: unknown };
  const m = typeof body.path === 'string' ? VERSION_IN_PATH.exec(body.path) : null;
  return m ? Number(m[1]) : base;
}

/** Runs `fn` over `items` with at most `limit` at once; results in input order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** What the sampler drew for a message (raw_data.sampled, written by the agent from the server's logprobs), if anything. */
export function sampledOf(m: Message): SampledTurn | undefined {
  const s = (m as { raw_data?: { sampled?: { token_ids?: unknown; logprobs?: unknown } } | null }).raw_data?.sampled;
  if (!s) return undefined;
  if (!Array.isArray(s.token_ids) || !Array.isArray(s.logprobs) || s.token_ids.length !== s.logprobs.length) throw new Error('a message carries malformed raw_data.sampled (token_ids and logprobs must be arrays of one length)');
  return { tokenIds: s.token_ids as number[], logprobs: s.logprobs as number[] };
}

/** The agent's chat of a finished dialogue, which of its messages the policy generated, and what was sampled for them. */
export function agentChatOf(result: Pick<DialogueResult, 'messages'>, openingLength: number): { messages: ChatMessage[]; generated: boolean[]; sampled: (SampledTurn | undefined)[] } {
  const indexed = result.messages.map((m, i) => ({ m, i })).filter(({ m }) => agentView([m]).length === 1);
  const chat = toAgentChat(indexed.map(({ m }) => m));
  const generated = indexed.map(({ m, i }) => m.role === 'assistant' && i >= openingLength);
  return {
    messages: chat.map((c): ChatMessage => (c.role === 'assistant' ? { role: 'assistant', content: c.content, tool_calls: c.tool_calls } : c)),
    generated,
    sampled: indexed.map(({ m }, j) => (generated[j] ? sampledOf(m as Message) : undefined)),
  };
}

export class SocietyRolloutSource implements RolloutSource {
  readonly stats: SocietySourceStats = { groups: 0, dialogues: 0, infraRetries: 0, checkerErrors: 0, split: 0, unsampledTurns: 0, terminations: {} };
  /** Set by the trainer: publishes the current policy (version) to the model servers. */
  ensureFresh?: (version: number) => Promise<void>;
  private readonly rng: () => number;
  private order: number[] = [];
  private readonly agentPrompt = new Map<string, { system: string; tools: ToolSpec[]; domain: DomainSpec }>();

  constructor(private readonly o: SocietySourceOptions) {
    if (!o.tasks.length) throw new Error('society rollouts: no tasks');
    if (!o.modelServers.length) throw new Error('society rollouts: no model server to read the policy version from');
    if (o.groupSize < 2) throw new Error('society rollouts: groupSize must be at least 2');
    this.rng = makeRng(o.seed ?? 1);
  }

  /** Tasks in a fresh shuffled order each pass, so every task is drawn once per pass. */
  private nextTask(): RlTask {
    if (!this.order.length) {
      this.order = [...this.o.tasks.keys()];
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.rng() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
      }
    }
    return this.o.tasks[this.order.shift()!];
  }

  private agentSide(domainName: string) {
    let a = this.agentPrompt.get(domainName);
    if (!a) {
      const domain = getDomain(domainName);
      const tools = domain.createEnvironment().agentToolSchemas() as unknown as ToolSpec[];
      this.agentPrompt.set(domainName, (a = { system: buildAgentSystemPrompt(domain.policy()), tools, domain }));
    }
    return a;
  }

  /** The oldest policy version among the model servers. */
  async servedVersion(): Promise<number> {
    const vs = await Promise.all(this.o.modelServers.map((u) => servedPolicyVersion(u, this.o.baseVersion ?? 0)));
    return Math.min(...vs);
  }

  async nextGroup(policyVersion: number): Promise<RolloutGroup> {
    // Rollouts beyond the staleness limit are not generated: bring the servers up to date first
    // (the trainer publishes), and refuse to play on a policy that would be dropped anyway.
    if (this.o.staleness) {
      const min = policyVersion - this.o.staleness.maxStaleness;
      if ((await this.servedVersion()) < min) await this.ensureFresh?.(policyVersion);
      const served = await this.servedVersion();
      if (served < min) throw new Error(`the model servers run policy v${served}, older than v${policyVersion} − maxStaleness ${this.o.staleness.maxStaleness}: refusing to play rollouts that would be dropped (did the publish fail?)`);
    }
    const t = this.nextTask();
    const draw = this.stats.groups++;
    const side = this.agentSide(t.domain);
    const history = historyFromTask(t.task);
    const opening = history.length || 1; // the scene opens with the task's history, else the greeting
    const limits: Partial<DialogueLimits> = { maxSteps: this.o.maxSteps, ...(this.o.maxErrors ? { maxErrors: this.o.maxErrors } : {}) };
    const initialState = stateOf(initialEnvironment(side.domain, t.task));
    const from = this.o.from ?? { role: 'learner', instance: `learner-${process.pid}` };
    const rollouts = await pool(Array.from({ length: this.o.groupSize }, (_, i) => i), this.o.concurrency, async (i): Promise<Rollout> => {
      const seed = ((this.o.seed ?? 1) * 1_000_003 + draw * this.o.groupSize + i) % 2 ** 31;
      const t0 = performance.now();
      let result: DialogueResult | undefined;
      let version = 0;
      for (let attempt = 1; ; attempt++) {
        version = await this.servedVersion();
        const dialogueId = `grpo-${process.pid}-${draw}-${i}-${t.task.id}${attempt > 1 ? `-a${attempt}` : ''}`;
        result = await this.o.play(
          this.o.nc,
          { dialogueId, domain: t.domain, taskId: t.task.id, seed, messageHistory: history.length ? history : undefined, limits },
          { from, timeoutMs: this.o.rpcTimeoutMs },
        );
        if (result.terminationReason !== 'infrastructure_error') break;
        if (attempt >= (this.o.infraAttempts ?? 3)) throw new Error(`society rollout ${dialogueId} (task ${t.task.id}) hit an infrastructure error ${attempt} times; last: ${result.error ?? '(no detail)'}`);
        this.stats.infraRetries++;
      }
      const verdict = await runChecker(t.checkerSource, { initialState, finalState: dialogueFinalState(side.domain, t.task, result.messages as Message[]), trajectory: result.messages });
      if (verdict.status !== 'pass' && verdict.status !== 'fail') this.stats.checkerErrors++;
      const chat = agentChatOf(result, opening);
      this.stats.unsampledTurns += chat.generated.filter((g, j) => g && !chat.sampled[j]).length;
      const { sequences, split } = tokenizeSampledRollout(this.o.tokenizer, [{ role: 'system', content: side.system }, ...chat.messages], side.tools, [false, ...chat.generated], [undefined, ...chat.sampled]);
      this.stats.split += split;
      for (const q of sequences) {
        if (q.tokens.length > this.o.maxSeqLen) throw new Error(`rollout ${result.dialogueId} (task ${t.task.id}) is a training sequence of ${q.tokens.length} tokens, longer than train.maxSeqLen = ${this.o.maxSeqLen}; raise train.maxSeqLen or lower rollouts.maxSteps`);
      }
      const [first, ...more] = sequences.length ? sequences : [{ tokens: [], agentMask: [], logprobs: [] }];
      const reward = rolloutReward(verdict.pass === true, result.terminationReason, this.o.reward);
      this.stats.dialogues++;
      this.stats.terminations[result.terminationReason] = (this.stats.terminations[result.terminationReason] ?? 0) + 1;
      this.o.onRollout?.({
        taskId: t.task.id, dialogueId: result.dialogueId, reward, termination: result.terminationReason, checker: verdict.status, policyVersion: version,
        tokens: sequences.reduce((a, q) => a + q.tokens.length, 0), agentTokens: sequences.reduce((a, q) => a + q.agentMask.reduce((x, y) => x + y, 0), 0), seconds: (performance.now() - t0) / 1000, result,
      });
      return {
        tokens: first.tokens, agentMask: first.agentMask, oldLogProbs: first.logprobs, reward, policyVersion: version,
        ...(more.length ? { more: more.map((q) => ({ tokens: q.tokens, agentMask: q.agentMask, oldLogProbs: q.logprobs })) } : {}),
      };
    });
    return { taskId: t.task.id, rollouts };
  }
}
