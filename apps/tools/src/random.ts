import { createHash, randomInt } from 'node:crypto';

/** A small seeded generator (mulberry32), so a simulation can be replayed with `--seed`. */
export function createRandom(seed: number = randomInt(2 ** 31)) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    next,
    /** An integer in [min, max]. */
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
    hex: (length: number) => Array.from({ length }, () => Math.floor(next() * 16).toString(16)).join(''),
    /** A uuid4 made of this generator's numbers. */
    uuid() {
      const h = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16));
      h[12] = '4';
      h[16] = '89ab'[Math.floor(next() * 4)] as string;
      const s = h.join('');
      return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [items[i], items[j]] = [items[j] as T, items[i] as T];
      }
      return items;
    },
  };
}

export type Random = ReturnType<typeof createRandom>;

/** A stable, well-formed `<prefix>-<uuid4>` derived from a name: the same agent name always gives the same id. */
export function stableId(prefix: string, name: string): string {
  const h = createHash('sha256').update(`runtrace-simulate:${name}`).digest('hex').split('');
  h[12] = '4';
  h[16] = '89ab'[Number.parseInt(h[16] as string, 16) % 4] as string;
  const s = h.join('');
  return `${prefix}-${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
