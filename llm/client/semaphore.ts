// A counting semaphore, and one per endpoint so all roles sharing a base URL share its limit.

export class Semaphore {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  get inUse(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      // The releasing holder hands its slot over directly, so `active` stays constant.
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.active--;
    };
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

const endpointLimits = new Map<string, Semaphore>();

/** The shared limiter of one endpoint. The first caller's limit wins; later callers share it. */
export function endpointSemaphore(baseURL: string, limit: number): Semaphore {
  const key = baseURL.replace(/\/+$/, '');
  let sem = endpointLimits.get(key);
  if (!sem) {
    sem = new Semaphore(limit);
    endpointLimits.set(key, sem);
  }
  return sem;
}
