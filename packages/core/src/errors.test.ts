import { describe, expect, it } from 'vitest';
import { echoValue, MAX_ECHO_CHARS } from './errors.js';

describe('echoValue', () => {
  it('writes small values as JSON', () => {
    expect(echoValue('abc')).toBe('"abc"');
    expect(echoValue([1, 'a', null, true])).toBe('[1,"a",null,true]');
    expect(echoValue({ a: { b: [1] } })).toBe('{"a":{"b":[1]}}');
    expect(echoValue(12n)).toBe('12n');
    expect(echoValue(undefined)).toBe('undefined');
  });

  it('cuts long values to the bound, with a marker', () => {
    const s = echoValue('x'.repeat(10_000_000));
    expect(s.length).toBeLessThanOrEqual(MAX_ECHO_CHARS + 40);
    expect(s).toMatch(/^"x+… \(cut at 120 characters\)$/);
    expect(echoValue(new Array(1_000_000).fill(7), 20)).toBe('[7,7,7,7,7,7,7,7,7,7… (cut at 20 characters)');
  });

  it('never throws on deep nesting or cycles (JSON.stringify does)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(echoValue(deep)).toBe('[[[[[…]]]]]');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(echoValue(cyclic)).toBe('{"a":1,"self":[cycle]}');
  });
});
