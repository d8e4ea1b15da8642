/**
 * A count kept in total and per organization, so `/metrics` (operators) can show the total while
 * `providerTraces.health` shows a caller only its own organization's share.
 */
export class Tally {
  total = 0;
  readonly #by = new Map<string, number>();

  add(organizationId: string, n = 1): void {
    if (n === 0) return;
    this.total += n;
    this.#by.set(organizationId, (this.#by.get(organizationId) ?? 0) + n);
  }

  /** Adds every organization's count of `other`. */
  addAll(other: Tally): void {
    for (const [organizationId, n] of other.#by) this.add(organizationId, n);
  }

  of(organizationId: string): number {
    return this.#by.get(organizationId) ?? 0;
  }

  clear(): void {
    this.total = 0;
    this.#by.clear();
  }
}

/**
 * A {@link Tally} that also remembers when each organization's count last grew (epoch ms), so that a health view can
 * tell a failure a minute ago from one a day ago without keeping a history.
 */
export class TimedTally extends Tally {
  lastTotalAt: number | null = null;
  readonly #last = new Map<string, number>();

  override add(organizationId: string, n = 1): void {
    super.add(organizationId, n);
    if (n === 0) return;
    const now = Date.now();
    this.lastTotalAt = now;
    this.#last.set(organizationId, now);
  }

  /** When the organization's count last grew, or null if it never did. */
  lastAt(organizationId: string): number | null {
    return this.#last.get(organizationId) ?? null;
  }

  override clear(): void {
    super.clear();
    this.lastTotalAt = null;
    this.#last.clear();
  }
}
