import { describe, expect, it } from 'vitest';
import { jsonObjectSchema } from './json.ts';

describe('jsonObjectSchema', () => {
  it('refuses a top-level "__proto__" key, naming it, instead of dropping it; nested ones are kept', () => {
    const refused = jsonObjectSchema.safeParse(JSON.parse('{"__proto__":[1],"a":1}'));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues.map((i) => [i.path, i.message])).toEqual([
      [['__proto__'], 'the key "__proto__" cannot be stored'],
    ]);
    const nested = jsonObjectSchema.parse(JSON.parse('{"a":{"__proto__":2},"constructor":3}'));
    expect(JSON.stringify(nested)).toBe('{"a":{"__proto__":2},"constructor":3}');
  });
});
