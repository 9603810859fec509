import { describe, expect, it } from 'vitest';
import { JOINT_PLAN, LOW_MEMORY_PLAN, memoryPlanFor } from './memory-plan.js';

describe('memoryPlanFor', () => {
  it('wasm with a ViT-B-sized tower gets the low-memory plan; torch and small towers the plain joint step', () => {
    expect(memoryPlanFor('wasm', 'auto', 86e6)).toBe(LOW_MEMORY_PLAN);
    expect(memoryPlanFor('torch', 'auto', 86e6)).toBe(JOINT_PLAN);
    expect(JOINT_PLAN).toMatchObject({ backward: 'joint', recompute: false, hostSlots: false });
    expect(memoryPlanFor('wasm', 'auto', 1e5)).toBe(JOINT_PLAN);
    expect(memoryPlanFor('cpu', 'low-memory', 1e5)).toBe(LOW_MEMORY_PLAN);
    expect(() => memoryPlanFor('wasm', 'tiny' as 'auto')).toThrow(/Unknown memory plan "tiny"/);
  });
});
