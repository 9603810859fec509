/**
 * Resampling of position embeddings as fixed matrices, so the resampling is a matMul (differentiable on
 * every backend; wasm has no gradient for gather).
 */

/**
 * 1-D bicubic resampling matrix `[outSize, inSize]` as PyTorch `interpolate(mode='bicubic',
 * align_corners=False)` with an explicit output size (A = -0.75, border indices clamped).
 */
export function bicubicMatrix(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  if (inSize === outSize) {
    for (let i = 0; i < inSize; i++) m[i * inSize + i] = 1;
    return m;
  }
  const A = -0.75;
  const cubic1 = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
  const cubic2 = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const x0 = Math.floor(src);
    const t = src - x0;
    const w = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)];
    for (let k = 0; k < 4; k++) {
      const idx = Math.min(Math.max(x0 - 1 + k, 0), inSize - 1);
      m[o * inSize + idx] = (m[o * inSize + idx] as number) + (w[k] as number);
    }
  }
  return m;
}

/**
 * 2-D bicubic resampling of a row-major `inH x inW` grid to `outH x outW`: matrix
 * `[outH*outW, inH*inW]` (Kronecker product of the two 1-D matrices).
 */
export function bicubicGridMatrix(inH: number, inW: number, outH: number, outW: number): Float32Array {
  const mh = bicubicMatrix(inH, outH);
  const mw = bicubicMatrix(inW, outW);
  const out = new Float32Array(outH * outW * inH * inW);
  const inN = inH * inW;
  for (let i = 0; i < outH; i++)
    for (let j = 0; j < outW; j++)
      for (let a = 0; a < inH; a++) {
        const wa = mh[i * inH + a] as number;
        if (wa === 0) continue;
        for (let b = 0; b < inW; b++) out[(i * outW + j) * inN + a * inW + b] = wa * (mw[j * inW + b] as number);
      }
  return out;
}

/**
 * Nearest-neighbour resampling `[outSize, inSize]` as PyTorch `interpolate(mode='nearest')`
 * (TimeSformer's time-embedding resize): source index `floor(o * in / out)`.
 */
export function nearestMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) m[o * inSize + Math.min(Math.floor((o * inSize) / outSize), inSize - 1)] = 1;
  return m;
}
