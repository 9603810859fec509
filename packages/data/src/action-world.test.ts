import { ConfigError, SeededRandom } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { actionPose, captionFor, renderActionVideo, renderStill, WORLD_ACTIONS, worldVocabulary } from './action-world.js';

const label = (id: string) => WORLD_ACTIONS.findIndex((a) => a.id === id);

/** Mean absolute difference between frames t and u of a clip, in grey levels. */
function frameDiff(clip: { data: Uint8Array; shape: readonly number[] }, t: number, u: number): number {
  const n = (clip.shape[1] as number) * (clip.shape[2] as number) * 3;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs((clip.data[t * n + i] as number) - (clip.data[u * n + i] as number));
  return s / n;
}

/** Fraction of dark pixels (the figure on the light still background). */
function darkFraction(still: { data: Uint8Array }): number {
  let dark = 0;
  for (let i = 0; i < still.data.length; i += 3) if ((still.data[i]! + still.data[i + 1]! + still.data[i + 2]!) / 3 < 140) dark++;
  return dark / (still.data.length / 3);
}

describe('the synthetic action world', () => {
  it('has at least 10 actions, each with a name, four descriptions and caption phrases, all distinct', () => {
    expect(WORLD_ACTIONS.length).toBeGreaterThanOrEqual(10);
    for (const key of ['id', 'name'] as const) expect(new Set(WORLD_ACTIONS.map((a) => a[key])).size).toBe(WORLD_ACTIONS.length);
    const all = WORLD_ACTIONS.flatMap((a) => a.descriptions);
    expect(new Set(all).size).toBe(all.length);
    for (const a of WORLD_ACTIONS) {
      expect(a.id).toMatch(/^[A-Z][A-Za-z]+$/);
      // The name is the UCF-101 normalisation of the folder name (CamelCase split, lower case).
      expect(a.name).toBe(a.id.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase());
      expect(a.descriptions.length).toBeGreaterThanOrEqual(4);
      for (const d of a.descriptions) expect(d.split(' ').length).toBeGreaterThanOrEqual(6);
      expect(a.phrases[0]).toBe(a.name);
    }
  });

  it('renders stills and videos deterministically under a seed; seeds change them', () => {
    const a = renderStill({ label: 3, seed: 7 });
    expect(a.shape).toEqual([1, 32, 32, 3]);
    expect(renderStill({ label: 3, seed: 7 }).data).toEqual(a.data);
    expect(renderStill({ label: 3, seed: 8 }).data).not.toEqual(a.data);
    const v = renderActionVideo({ label: 0, groupSeed: 1, seed: 2, size: 32, numFrames: 6 });
    expect(v.shape).toEqual([6, 32, 32, 3]);
    expect(renderActionVideo({ label: 0, groupSeed: 1, seed: 2, size: 32, numFrames: 6 }).data).toEqual(v.data);
    expect(renderActionVideo({ label: 0, groupSeed: 1, seed: 3, size: 32, numFrames: 6 }).data).not.toEqual(v.data);
  });

  it('draws a visible figure in every still (dark strokes on a light background)', () => {
    for (let k = 0; k < WORLD_ACTIONS.length; k++) {
      const f = darkFraction(renderStill({ label: k, seed: k }));
      expect(f, WORLD_ACTIONS[k]!.id).toBeGreaterThan(0.03);
      expect(f, WORLD_ACTIONS[k]!.id).toBeLessThan(0.4);
    }
  });

  it('draws videos as the stills do, a dark figure on a light scene, but the figure smaller (world version 2)', () => {
    // Version 1 drew any figure colour on scenes of any brightness; a CLIP trained on the stills then knew
    // nothing about the videos (action-world.ts). Every frame: mostly light pixels, a dark figure in it.
    for (let k = 0; k < WORLD_ACTIONS.length; k++) {
      for (const g of [0, 1]) {
        const clip = renderActionVideo({ label: k, groupSeed: `${k}/${g}`, seed: g, size: 48, numFrames: 4 });
        const n = 48 * 48 * 3;
        for (let t = 0; t < 4; t++) {
          const frame = { data: clip.data.subarray(t * n, (t + 1) * n) };
          const f = darkFraction(frame);
          expect(f, `${WORLD_ACTIONS[k]!.id} group ${g} frame ${t}`).toBeGreaterThan(0.01);
          // Smaller than in the stills (0.03-0.4 of a still), never the background.
          expect(f, `${WORLD_ACTIONS[k]!.id} group ${g} frame ${t}`).toBeLessThan(0.25);
        }
      }
    }
  });

  it('time order carries information a frame cannot: a squat down is a stand up played backwards', () => {
    for (const [forward, backward] of [
      ['SquattingDown', 'StandingUp'],
      ['RaisingAnArm', 'LoweringAnArm'],
    ] as const) {
      for (const seed of [1, 2, 3]) {
        for (const p of [0, 0.2, 0.5, 0.9, 1]) {
          const f = actionPose(label(forward), p, seed);
          const b = actionPose(label(backward), 1 - p, seed);
          for (const key of Object.keys(f) as (keyof typeof f)[]) expect(f[key], `${forward} ${key} at ${p}`).toBeCloseTo(b[key], 9);
        }
        // ... and the pose does change over the clip (the pair is not two still poses).
        const start = actionPose(label(forward), 0, seed);
        const end = actionPose(label(forward), 1, seed);
        expect(Math.max(...Object.keys(start).map((k) => Math.abs(start[k as 'armR'] - end[k as 'armR'])))).toBeGreaterThan(0.5);
      }
    }
    // Videos move: frames of one clip differ.
    const clip = renderActionVideo({ label: label('SquattingDown'), groupSeed: 4, seed: 9, size: 32, numFrames: 8 });
    expect(frameDiff(clip, 0, 7)).toBeGreaterThan(3);
  });

  it('captions name the action with one of its phrases', () => {
    const rng = new SeededRandom(1);
    for (let k = 0; k < WORLD_ACTIONS.length; k++) {
      for (let i = 0; i < 5; i++) {
        const caption = captionFor(k, rng);
        expect(
          WORLD_ACTIONS[k]!.phrases.some((p) => caption.includes(p)),
          caption,
        ).toBe(true);
      }
    }
  });

  it('has a larger generated vocabulary that contains the world names', () => {
    const vocab = worldVocabulary();
    expect(vocab.length).toBeGreaterThan(4 * WORLD_ACTIONS.length);
    expect(new Set(vocab).size).toBe(vocab.length);
    for (const a of WORLD_ACTIONS) expect(vocab).toContain(a.name);
  });

  it('rejects bad labels and sizes with ConfigError', () => {
    expect(() => renderStill({ label: 99, seed: 0 })).toThrow(ConfigError);
    expect(() => renderStill({ label: 0, seed: 0, size: 4 })).toThrow(/size must be an integer >= 8; received 4/);
    expect(() => renderActionVideo({ label: -1, groupSeed: 0, seed: 0 })).toThrow(/received -1/);
    expect(() => renderActionVideo({ label: 0, groupSeed: 0, seed: 0, numFrames: 1 })).toThrow(ConfigError);
  });
});
