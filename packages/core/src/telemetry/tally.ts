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
