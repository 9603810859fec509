import { describe, expect, it } from 'vitest';
import { SeededRandom } from './random.js';

describe('SeededRandom', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = new SeededRandom(7);
    const b = new SeededRandom(7);
    const c = new SeededRandom(8);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });
  it('restores its state exactly', () => {
    const r = new SeededRandom('run-1');
    r.normal();
    const saved = r.state();
    const first = [r.uniform(), r.normal(), r.int(10)];
    r.setState(saved);
    expect([r.uniform(), r.normal(), r.int(10)]).toEqual(first);
    expect(() => r.setState([1, 2, 3] as unknown as [number, number, number, number])).toThrow(/four uint32/);
  });
  it('has plausible moments', () => {
    const r = new SeededRandom(1);
    const n = 20000;
    const u = r.uniformArray(n);
    const z = r.normalArray(n);
    const mean = (x: Float32Array) => x.reduce((s, v) => s + v, 0) / x.length;
    expect(mean(u)).toBeCloseTo(0.5, 1);
    expect(mean(z)).toBeCloseTo(0, 1);
    expect(mean(z.map((v) => v * v))).toBeCloseTo(1, 1);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[r.int(4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });
  it('shuffles to a permutation', () => {
    const items = [...Array(50).keys()];
    const shuffled = new SeededRandom(3).shuffle([...items]);
    expect(shuffled).not.toEqual(items);
    expect([...shuffled].sort((a, b) => a - b)).toEqual(items);
  });
});
