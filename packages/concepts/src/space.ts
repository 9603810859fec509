/**
 * Concept spaces: a unit-norm matrix `C [K, D]` of text embeddings with ids, source texts and
 * provenance, and for description spaces the relation `M [K_cat, K_desc]` (1 = the description belongs
 * to the category). Projection `s = normalize(f) · Cᵀ` gives cosine scores; temperatures belong to the
 * objectives, not here (SPEC.md section 2).
 */
import type { SafetensorsContents, SafetensorsInput } from '@lss/core';
import { ConfigError, formatShape, ShapeError, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

export type ConceptSpaceKind = 'category' | 'description';

/** Where a space came from. */
export interface ConceptSpaceProvenance {
  /** Text model id (folder name or hub id). */
  readonly modelId: string;
  /** SHA-256 of the text weights file. */
  readonly modelHash: string;
  /** Prompt templates used (`{}` = label). Empty for description spaces (descriptions are embedded as written). */
  readonly templates: readonly string[];
  /** Label set name or data file(s) the texts came from. */
  readonly source: string;
}

/** `M [K_cat, K_desc]`, row i = category `categoryIds[i]`. */
export interface RelationMatrix {
  readonly data: Uint8Array;
  readonly shape: readonly [number, number];
  readonly categoryIds: readonly string[];
}

export interface ConceptSpaceInit {
  readonly kind: ConceptSpaceKind;
  /** `[K, D]` row-major, unit-norm rows (checked to 1e-3). */
  readonly matrix: Float32Array;
  readonly shape: readonly [number, number];
  readonly ids: readonly string[];
  readonly texts: readonly string[];
  readonly provenance: ConceptSpaceProvenance;
  readonly relation?: RelationMatrix;
}

/** Tolerance on row norms accepted by the constructor. */
const NORM_TOLERANCE = 1e-3;

export class ConceptSpace {
  readonly kind: ConceptSpaceKind;
  readonly matrix: Float32Array;
  readonly shape: readonly [number, number];
  readonly ids: readonly string[];
  readonly texts: readonly string[];
  readonly provenance: ConceptSpaceProvenance;
  readonly relation: RelationMatrix | undefined;

  constructor(init: ConceptSpaceInit) {
    const [k, d] = init.shape;
    if (!Number.isInteger(k) || !Number.isInteger(d) || k < 1 || d < 1) {
      throw new ShapeError(`ConceptSpace shape: received ${formatShape(init.shape)}; expected [K, D] with K, D >= 1.`);
    }
    if (init.matrix.length !== k * d) {
      throw new ShapeError(
        `ConceptSpace matrix: received ${init.matrix.length} values; expected K * D = ${k * d} for shape ${formatShape(init.shape)}.`,
      );
    }
    if (init.ids.length !== k || init.texts.length !== k) {
      throw new ShapeError(`ConceptSpace: received ${init.ids.length} ids and ${init.texts.length} texts; expected K = ${k} of each.`);
    }
    if (new Set(init.ids).size !== k) {
      const dup = init.ids.find((id, i) => init.ids.indexOf(id) !== i);
      throw new ConfigError(`ConceptSpace ids must be unique; ${JSON.stringify(dup)} appears more than once.`);
    }
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) {
        const v = init.matrix[i * d + j] as number;
        s += v * v;
      }
      const norm = Math.sqrt(s);
      if (!(Math.abs(norm - 1) <= NORM_TOLERANCE)) {
        throw new ShapeError(
          `ConceptSpace row ${i} (${init.ids[i]}) has norm ${norm}; expected unit-norm rows. Normalise with l2NormalizeRows (@lss/core) first.`,
        );
      }
    }
    if (init.relation) {
      const [kc, kd] = init.relation.shape;
      if (kd !== k || init.relation.data.length !== kc * kd || init.relation.categoryIds.length !== kc) {
        throw new ShapeError(
          `Relation matrix: received shape ${formatShape(init.relation.shape)} with ${init.relation.data.length} values and ${init.relation.categoryIds.length} category ids; expected [K_cat, ${k}] (K_desc = rows of this space).`,
        );
      }
    }
    this.kind = init.kind;
    this.matrix = init.matrix;
    this.shape = [k, d];
    this.ids = init.ids;
    this.texts = init.texts;
    this.provenance = init.provenance;
    this.relation = init.relation;
  }

  /** Number of concepts K. */
  get size(): number {
    return this.shape[0];
  }

  /** Embedding dimension D. */
  get dim(): number {
    return this.shape[1];
  }

  /** Row i as a copy. */
  row(i: number): Float32Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new ConfigError(`row: received ${i}; expected 0 <= i < ${this.size}.`);
    return this.matrix.slice(i * this.dim, (i + 1) * this.dim);
  }

  /** Index of a concept id, or -1. */
  indexOf(id: string): number {
    return this.ids.indexOf(id);
  }

  /** `C` as a new `[K, D]` tensor (the caller disposes it). Keep one for hot loops and use {@link projectOntoConcepts}. */
  toTensor(): tf.Tensor2D {
    return tf.tensor2d(this.matrix, [this.size, this.dim], 'float32');
  }

  /** The relation matrix as a new `[K_cat, K_desc]` float32 tensor (0/1). */
  relationTensor(): tf.Tensor2D {
    if (!this.relation) throw new ConfigError(`This ${this.kind} space has no relation matrix; only description spaces carry one.`);
    return tf.tensor2d(Float32Array.from(this.relation.data), [this.relation.shape[0], this.relation.shape[1]], 'float32');
  }

  /** Cosine scores `normalize(f) · Cᵀ`: `[B, D]` -> `[B, K]`, in [-1, 1], no temperature. */
  project(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const c = this.toTensor(); // [K, D]
      return projectOntoConcepts(features, c);
    });
  }
}

/** `normalize(f) · Cᵀ` for a `[B, D]` feature tensor and a `[K, D]` unit-norm concept tensor -> `[B, K]`. */
export function projectOntoConcepts(features: tf.Tensor2D, concepts: tf.Tensor2D): tf.Tensor2D {
  if (features.rank !== 2 || concepts.rank !== 2 || features.shape[1] !== concepts.shape[1]) {
    throw new ShapeError(
      `projectOntoConcepts: received features ${formatShape(features.shape)} and concepts ${formatShape(concepts.shape)}; expected [B, D] and [K, D] with the same D.`,
    );
  }
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(features), 1, true), 1e-24)); // [B, 1]
    const f = tf.div(features, norm); // [B, D]
    return tf.matMul(f, tf.transpose(concepts)); // [B, D] x [D, K] -> [B, K]
  });
}

/** JSON sidecar stored next to the safetensors file. */
export interface ConceptSpaceSidecar {
  readonly format: 'lss-concept-space';
  readonly version: 1;
  readonly kind: ConceptSpaceKind;
  readonly shape: readonly [number, number];
  readonly ids: readonly string[];
  readonly texts: readonly string[];
  readonly provenance: ConceptSpaceProvenance;
  readonly relationCategoryIds?: readonly string[];
  /** Cache key the space was stored under, when built through the cache. */
  readonly cacheKey?: string;
}

/** Tensor names in the safetensors file. */
export const CONCEPTS_TENSOR = 'concepts';
export const RELATION_TENSOR = 'relation';

/** Splits a space into safetensors tensors (`concepts` F32 [K, D], `relation` U8 [K_cat, K_desc]) and its JSON sidecar. */
export function conceptSpaceToSafetensors(
  space: ConceptSpace,
  cacheKey?: string,
): { tensors: Record<string, SafetensorsInput>; metadata: Record<string, string>; sidecar: ConceptSpaceSidecar } {
  const tensors: Record<string, SafetensorsInput> = {
    [CONCEPTS_TENSOR]: { shape: [space.size, space.dim], data: space.matrix, dtype: 'F32' },
  };
  if (space.relation) tensors[RELATION_TENSOR] = { shape: [...space.relation.shape], data: space.relation.data, dtype: 'U8' };
  const sidecar: ConceptSpaceSidecar = {
    format: 'lss-concept-space',
    version: 1,
    kind: space.kind,
    shape: space.shape,
    ids: space.ids,
    texts: space.texts,
    provenance: space.provenance,
    ...(space.relation ? { relationCategoryIds: space.relation.categoryIds } : {}),
    ...(cacheKey ? { cacheKey } : {}),
  };
  const metadata: Record<string, string> = { format: 'lss-concept-space', kind: space.kind, modelHash: space.provenance.modelHash };
  return { tensors, metadata, sidecar };
}

/** Rebuilds a space from decoded safetensors contents and its sidecar (validated). */
export function conceptSpaceFromSafetensors(
  contents: SafetensorsContents,
  sidecar: ConceptSpaceSidecar,
  source = 'concept space',
): ConceptSpace {
  if (sidecar?.format !== 'lss-concept-space' || sidecar.version !== 1) {
    throw new WeightsError(
      `${source}: sidecar format ${JSON.stringify(sidecar?.format)} v${sidecar?.version}; expected "lss-concept-space" v1.`,
    );
  }
  const c = contents.tensors.get(CONCEPTS_TENSOR);
  if (!c || c.dtype !== 'float32' || c.shape.length !== 2) {
    throw new WeightsError(`${source}: expected a float tensor "${CONCEPTS_TENSOR}" [K, D]; found ${c ? formatShape(c.shape) : 'none'}.`);
  }
  const r = contents.tensors.get(RELATION_TENSOR);
  let relation: RelationMatrix | undefined;
  if (r) {
    if (r.shape.length !== 2 || !sidecar.relationCategoryIds) {
      throw new WeightsError(
        `${source}: relation tensor ${formatShape(r.shape)} needs shape [K_cat, K_desc] and relationCategoryIds in the sidecar.`,
      );
    }
    relation = {
      data: Uint8Array.from(r.data),
      shape: [r.shape[0] as number, r.shape[1] as number],
      categoryIds: sidecar.relationCategoryIds,
    };
  }
  return new ConceptSpace({
    kind: sidecar.kind,
    matrix: c.data as Float32Array,
    shape: [c.shape[0] as number, c.shape[1] as number],
    ids: sidecar.ids,
    texts: sidecar.texts,
    provenance: sidecar.provenance,
    ...(relation ? { relation } : {}),
  });
}
