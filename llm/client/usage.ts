// Token accounting: every call's usage is added to a ledger, summed per role, per dialogue and per run.

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  calls: number;
}

export interface UsageRecord {
  role: string;
  dialogueId?: string;
  model: string;
  promptTokens: number;
  completionTokens: number;
}

export function emptyUsage(): TokenUsage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, calls: 0 };
}

function add(into: TokenUsage, rec: UsageRecord): void {
  into.promptTokens += rec.promptTokens;
  into.completionTokens += rec.completionTokens;
  into.totalTokens += rec.promptTokens + rec.completionTokens;
  into.calls += 1;
}

export class UsageLedger {
  private readonly run = emptyUsage();
  private readonly roles = new Map<string, TokenUsage>();
  private readonly dialogues = new Map<string, TokenUsage>();
  private readonly models = new Map<string, TokenUsage>();

  record(rec: UsageRecord): void {
    add(this.run, rec);
    add(getOrCreate(this.roles, rec.role), rec);
    add(getOrCreate(this.models, rec.model), rec);
    if (rec.dialogueId) add(getOrCreate(this.dialogues, rec.dialogueId), rec);
  }

  total(): TokenUsage {
    return { ...this.run };
  }

  byRole(role: string): TokenUsage {
    return { ...(this.roles.get(role) ?? emptyUsage()) };
  }

  byDialogue(dialogueId: string): TokenUsage {
    return { ...(this.dialogues.get(dialogueId) ?? emptyUsage()) };
  }

  byModel(model: string): TokenUsage {
    return { ...(this.models.get(model) ?? emptyUsage()) };
  }

  /** A plain-object snapshot, for reports and JSON output. */
  snapshot(): { run: TokenUsage; roles: Record<string, TokenUsage>; dialogues: Record<string, TokenUsage>; models: Record<string, TokenUsage> } {
    const plain = (m: Map<string, TokenUsage>) => Object.fromEntries([...m].map(([k, v]) => [k, { ...v }]));
    return { run: this.total(), roles: plain(this.roles), dialogues: plain(this.dialogues), models: plain(this.models) };
  }
}

function getOrCreate(map: Map<string, TokenUsage>, key: string): TokenUsage {
  let u = map.get(key);
  if (!u) {
    u = emptyUsage();
    map.set(key, u);
  }
  return u;
}

/** The ledger of this process's run, used by clients not given one explicitly. */
export const runUsage = new UsageLedger();
