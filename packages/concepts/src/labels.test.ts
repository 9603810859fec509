import { describe, expect, it } from 'vitest';
import { normalizeLabel, splitCamelCase, unionLabelSet, vocabularyLabelSet } from './labels.js';

describe('normalizeLabel', () => {
  it.each([
    ['ApplyEyeMakeup', 'apply eye makeup'],
    ['YoYo', 'yo yo'],
    ['TaiChi', 'tai chi'],
    ['PlayingDaf', 'playing daf'],
    ['Skijet', 'skijet'],
    ['passing American football (in game)', 'passing american football (in game)'],
    ['massaging person\u2019s head', "massaging person's head"],
    ['  brush_hair\t', 'brush hair'],
    ['playing  basketball', 'playing basketball'],
  ])('%s -> %s', (raw, want) => {
    expect(normalizeLabel(raw)).toBe(want);
  });

  it('splits acronyms before a word', () => {
    expect(splitCamelCase('UFOSighting')).toBe('UFO Sighting');
  });
});

describe('unionLabelSet', () => {
  it('normalises, de-duplicates and maps every class back', () => {
    const set = unionLabelSet('t', [
      {
        dataset: 'a',
        classes: [
          { id: 0, name: 'tai chi' },
          { id: 1, name: 'archery' },
        ],
      },
      {
        dataset: 'b',
        classes: [
          { id: 0, name: 'TaiChi' },
          { id: 1, name: 'Fencing' },
        ],
      },
      { dataset: 'c', classes: [{ id: 0, name: 'fencing' }] },
    ]);
    expect(set.labels).toEqual(['tai chi', 'archery', 'fencing']);
    expect(set.toLabel).toEqual({ a: [0, 1], b: [0, 2], c: [2] });
    expect(set.origins[2]).toEqual([
      { dataset: 'b', id: 1, name: 'Fencing' },
      { dataset: 'c', id: 0, name: 'fencing' },
    ]);
  });

  it('rejects empty names', () => {
    expect(() => unionLabelSet('t', [{ dataset: 'a', classes: [{ id: 0, name: ' ' }] }])).toThrow(/empty label/);
    expect(() => vocabularyLabelSet('v', ['run', ''])).toThrow(/empty action/);
  });

  it('vocabulary sets de-duplicate after normalisation', () => {
    expect(vocabularyLabelSet('v', ['Run', 'run ', 'jump']).labels).toEqual(['run', 'jump']);
  });
});
