/**
 * The tool environment of one dialogue (τ²'s `Environment`): the agent's toolkit, optionally the
 * user's toolkit (dual control), the policy, and the operations the orchestrator and the evaluator
 * use. Nothing here throws past `getResponse`; errors become `Error: <msg>` tool messages.
 *
 * Subclasses override `syncTools()` to propagate state between the two sides (telecom).
 */
import { loadsOrString, pyEquals, type PyValue } from '../pycompat/pyjson.ts';
import { PyError, toolOutputText, type Toolkit, type ToolDef, openAiSchema, type OpenAiToolSchema } from './tool.ts';

export type Requestor = 'assistant' | 'user';

export interface ToolCallIn {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  requestor?: Requestor;
}

export interface ToolMessageOut {
  role: 'tool';
  id: string;
  content: string;
  requestor: Requestor;
  error: boolean;
}

export interface EnvFunctionCallIn {
  env_type: Requestor;
  func_name: string;
  arguments: Record<string, unknown>;
}

export interface EnvAssertionIn extends EnvFunctionCallIn {
  assert_value?: boolean;
  message?: string | null;
}

export interface InitializationDataIn {
  agent_data?: Record<string, unknown> | null;
  user_data?: Record<string, unknown> | null;
}

/** A trajectory message as far as `setState` needs it. */
export interface HistoryMessage {
  role: string;
  tool_calls?: ToolCallIn[] | null;
  id?: string;
  content?: string | null;
  tool_messages?: HistoryMessage[];
  [k: string]: unknown;
}

export interface ReplayMismatch {
  call: ToolCallIn;
  got: ToolMessageOut;
  expected: HistoryMessage;
}

export interface SetStateOptions {
  /** Live evaluation: a replayed WRITE call whose output differs from the recorded one throws. */
  strict?: boolean;
}

export class ReplayMismatchError extends Error {
  constructor(readonly mismatch: ReplayMismatch) {
    super(
      `Tool call:\n${JSON.stringify(mismatch.call)}\n\nReturned:\n${JSON.stringify(mismatch.got)}\n\nExpected:\n${JSON.stringify(mismatch.expected)}`,
    );
    this.name = 'ReplayMismatchError';
  }
}

export interface EnvironmentOptions {
  domainName: string;
  policy: string;
  tools?: Toolkit;
  userTools?: Toolkit;
  /** Solo mode: the agent may also call the user's tools; user tool calls are refused. */
  soloMode?: boolean;
}

export class Environment {
  readonly domainName: string;
  readonly policy: string;
  tools?: Toolkit;
  userTools?: Toolkit;
  soloMode: boolean;

  constructor(opts: EnvironmentOptions) {
    this.domainName = opts.domainName;
    this.policy = opts.policy;
    this.tools = opts.tools;
    this.userTools = opts.userTools;
    this.soloMode = opts.soloMode ?? false;
    if (this.soloMode) this.validateSoloMode();
    this.syncTools();
  }

  private validateSoloMode(): void {
    const a = new Set((this.tools?.tools ?? []).map((x) => x.name));
    const overlap = (this.userTools?.tools ?? []).map((x) => x.name).filter((n) => a.has(n));
    if (overlap.length) throw new Error(`Tool names overlap: ${overlap.join(', ')}`);
  }

  /** Agent tools in offer order. */
  getTools(): ToolDef[] {
    if (!this.tools) throw new PyError('Tools not available');
    return this.tools.tools;
  }

  /** User tools in offer order, optionally only those named (a task's `user_tools`). */
  getUserTools(include?: string[] | null): ToolDef[] {
    if (!this.userTools) throw new PyError('User tools not available');
    const all = this.userTools.tools;
    if (include == null) return all;
    const known = new Set(all.map((x) => x.name));
    const unknown = include.filter((n) => !known.has(n));
    if (unknown.length) throw new PyError(`Tool(s) not found: ${JSON.stringify(unknown.sort())}`);
    return all.filter((x) => include.includes(x.name));
  }

  /** OpenAI function schemas of the agent tools (plus the user's in solo mode, as τ²'s solo agent). */
  agentToolSchemas(): OpenAiToolSchema[] {
    const tools = [...this.getTools()];
    if (this.soloMode && this.userTools) tools.push(...this.userTools.tools);
    return tools.map(openAiSchema);
  }

  userToolSchemas(include?: string[] | null): OpenAiToolSchema[] {
    return this.userTools ? this.getUserTools(include).map(openAiSchema) : [];
  }

  hasTool(name: string): boolean {
    return !!(this.tools?.hasTool(name) || this.userTools?.hasTool(name));
  }

  /** Only state-mutating (WRITE) tools are replayed; unknown names count as mutating, as in τ². */
  isMutatingTool(name: string): boolean {
    for (const kit of [this.tools, this.userTools]) if (kit?.hasTool(name)) return kit.mutatesState(name);
    return true;
  }

  useTool(name: string, args: Record<string, unknown>): unknown {
    if (!this.tools) throw new PyError('Tools not available');
    return this.tools.useTool(name, args);
  }

  useUserTool(name: string, args: Record<string, unknown>): unknown {
    if (!this.userTools) throw new PyError('User tools not available');
    return this.userTools.useTool(name, args);
  }

  /** Route a call to the requestor's toolkit. Does not sync (the gold replay relies on that). */
  makeToolCall(name: string, requestor: Requestor, args: Record<string, unknown>): unknown {
    if (requestor === 'user') {
      if (this.soloMode) throw new PyError('User tool calls are not allowed in solo mode');
      return this.useUserTool(name, args);
    }
    if (requestor === 'assistant') {
      if (this.soloMode && this.userTools?.hasTool(name)) return this.useUserTool(name, args);
      return this.useTool(name, args);
    }
    throw new PyError(`Invalid requestor: ${requestor}`);
  }

  /** Propagate state between the agent and user sides. No-op unless a domain overrides it. */
  syncTools(): void {}

  /** Execute one tool call; never throws. */
  getResponse(call: ToolCallIn): ToolMessageOut {
    const requestor = call.requestor ?? 'assistant';
    let content: string;
    let error = false;
    try {
      const resp = this.makeToolCall(call.name, requestor, call.arguments ?? {});
      this.syncTools();
      content = toolOutputText(resp);
    } catch (e) {
      content = `Error: ${errorText(e)}`;
      error = true;
    }
    return { role: 'tool', id: call.id, content, requestor, error };
  }

  /** `run_env_function_call`: any function or tool of either side, then sync. Throws on failure. */
  runEnvFunction(call: EnvFunctionCallIn): unknown {
    const kit = call.env_type === 'user' ? this.userTools : call.env_type === 'assistant' ? this.tools : undefined;
    if (call.env_type !== 'user' && call.env_type !== 'assistant') throw new PyError(`Invalid environment type: ${call.env_type}`);
    if (!kit) throw new PyError(`'NoneType' object has no attribute '${call.func_name}'`, 'AttributeError');
    const res = kit.callFunction(call.func_name, call.arguments ?? {});
    this.syncTools();
    return res;
  }

  /** `run_env_assertion` without raising: the function must return a bool. */
  runEnvAssertion(assertion: EnvAssertionIn): boolean {
    const res = this.runEnvFunction(assertion);
    if (typeof res !== 'boolean') {
      throw new PyError(`Function ${assertion.func_name} returned ${describeType(res)} instead of bool`);
    }
    return res === (assertion.assert_value ?? true);
  }

  agentDbHash(): string | null {
    return this.tools ? this.tools.db.hash() : null;
  }

  userDbHash(): string | null {
    return this.userTools ? this.userTools.db.hash() : null;
  }

  agentDbDump(): PyValue | null {
    return this.tools ? this.tools.db.dump() : null;
  }

  userDbDump(): PyValue | null {
    return this.userTools ? this.userTools.db.dump() : null;
  }

  /**
   * `set_state`: merge initialization data into the DBs, run initialization actions (each followed
   * by a sync), then replay the WRITE tool calls of `messageHistory` (each paired with the tool
   * message that follows it). Returns the replayed calls whose output differed from the recorded
   * one; with `strict` the first difference throws `ReplayMismatchError`.
   */
  setState(
    initializationData: InitializationDataIn | null | undefined,
    initializationActions: EnvFunctionCallIn[] | null | undefined,
    messageHistory: HistoryMessage[],
    options: SetStateOptions = {},
  ): ReplayMismatch[] {
    if (this.soloMode && messageHistory.some((m) => m.role === 'user')) {
      throw new PyError('User messages are not allowed in solo mode', 'AssertionError');
    }
    if (initializationData) {
      if (initializationData.agent_data != null) {
        if (!this.tools) throw new PyError("'NoneType' object has no attribute 'update_db'", 'AttributeError');
        this.tools.db.update(initializationData.agent_data);
        // τ² v1.0 quirk (notes §8.11): afterwards the user toolkit shares the agent's DB object.
        if (this.userTools) this.userTools.db = this.tools.db;
      }
      if (initializationData.user_data != null) {
        if (!this.userTools) throw new PyError("'NoneType' object has no attribute 'update_db'", 'AttributeError');
        this.userTools.db.update(initializationData.user_data);
      }
    }
    for (const action of initializationActions ?? []) this.runEnvFunction(action);

    const mismatches: ReplayMismatch[] = [];
    for (const [call, expected] of pairToolCalls(messageHistory)) {
      if (!this.hasTool(call.name)) continue; // hallucinated tool: a no-op live, so skipped here
      if (!this.isMutatingTool(call.name)) continue;
      const got = this.getResponse(call);
      if (!pyEquals(loadsOrString(got.content), loadsOrString(String(expected.content ?? '')))) {
        const m = { call, got, expected };
        if (options.strict ?? true) throw new ReplayMismatchError(m);
        mismatches.push(m);
      }
    }
    this.syncTools();
    return mismatches;
  }
}

/** Flatten MultiToolMessages and pair every tool call with the tool message that follows it. */
export function pairToolCalls(history: HistoryMessage[]): [ToolCallIn, HistoryMessage][] {
  const flat: HistoryMessage[] = [];
  for (const m of history) {
    if (m.role === 'tool' && Array.isArray(m.tool_messages)) flat.push(...m.tool_messages);
    else flat.push(m);
  }
  const out: [ToolCallIn, HistoryMessage][] = [];
  let i = 0;
  while (i < flat.length) {
    const m = flat[i++];
    if (m.role === 'tool') throw new Error('Tool message not expected. Tool messages should always follow a tool call.');
    if ((m.role === 'assistant' || m.role === 'user') && m.tool_calls?.length) {
      for (const tc of m.tool_calls) {
        if (i >= flat.length) throw new Error('Tool message expected. Got None.');
        const tm = flat[i++];
        if (tm.role !== 'tool') throw new Error(`Tool message expected. Got ${tm.role} message`);
        if (tc.id !== tm.id) throw new Error(`Tool call id mismatch. Got ${tc.id} and ${tm.id}`);
        out.push([{ ...tc, requestor: tc.requestor ?? 'assistant' }, tm]); // pydantic default
      }
    }
  }
  return out;
}

/** `str(exception)` for what tools throw; JS runtime errors keep their own message. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

function describeType(x: unknown): string {
  if (x === null || x === undefined) return "<class 'NoneType'>";
  if (typeof x === 'string') return "<class 'str'>";
  if (typeof x === 'number') return Number.isInteger(x) ? "<class 'int'>" : "<class 'float'>";
  return `<class '${typeof x}'>`;
}
