/**
 * The ONLY place where PyTorch layouts are converted to ours and back (host arrays, no tfjs):
 * linear weights PyTorch `[out, in]` <-> ours `[in, out]`; the patch-embedding conv weight
 * `[D, 3, P, P]` <-> our matMul kernel `[P*P*3, D]` with rows ordered (py, px, c).
 */

/** A float32 array with its shape (row-major). */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  const d = t.data;
  for (let i = 0; i < r; i++) {
    const row = i * c;
    for (let j = 0; j < c; j++) out[j * r + i] = d[row + j] as number;
  }
  return { shape: [c, r], data: out };
}

/** PyTorch `nn.Linear.weight` `[out, in]` -> our kernel `[in, out]`. */
export function torchLinearToKernel(weight: HostTensor): HostTensor {
  return transpose2d(weight);
}

/** Our kernel `[in, out]` -> PyTorch `nn.Linear.weight` `[out, in]`. */
export function kernelToTorchLinear(kernel: HostTensor): HostTensor {
  return transpose2d(kernel);
}

/**
 * A matrix already stored `[in, out]` by PyTorch code that uses `x @ W` (OpenAI's `visual.proj`,
 * `text_projection`): no transpose; listed here so every layout decision sits in this file.
 */
export function torchMatrixToKernel(matrix: HostTensor): HostTensor {
  return matrix;
}

/** PyTorch conv weight `[D, 3, P, P]` (out, c, py, px) -> kernel `[P*P*3, D]`, rows (py, px, c). */
export function torchConvToPatchKernel(weight: HostTensor): HostTensor {
  const [D, C, P, Q] = weight.shape as [number, number, number, number];
  const out = new Float32Array(P * Q * C * D);
  const w = weight.data;
  for (let o = 0; o < D; o++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < P; y++)
        for (let x = 0; x < Q; x++) out[((y * Q + x) * C + c) * D + o] = w[((o * C + c) * P + y) * Q + x] as number;
  return { shape: [P * Q * C, D], data: out };
}

/** Inverse of {@link torchConvToPatchKernel}: `[P*P*3, D]` -> `[D, 3, P, P]`. */
export function patchKernelToTorchConv(kernel: HostTensor, patchSize: number, channels = 3): HostTensor {
  const [, D] = kernel.shape as [number, number];
  const P = patchSize;
  const out = new Float32Array(D * channels * P * P);
  const k = kernel.data;
  for (let o = 0; o < D; o++)
    for (let c = 0; c < channels; c++)
      for (let y = 0; y < P; y++)
        for (let x = 0; x < P; x++) out[((o * channels + c) * P + y) * P + x] = k[((y * P + x) * channels + c) * D + o] as number;
  return { shape: [D, channels, P, P], data: out };
}

/** Row-wise concatenation of equally wide 1-D or 2-D tensors (q | k | v). */
export function concatRows(parts: readonly HostTensor[]): HostTensor {
  const rows = parts.reduce((a, p) => a + (p.shape[0] as number), 0);
  const rest = parts[0]?.shape.slice(1) ?? [];
  const out = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p.data, offset);
    offset += p.data.length;
  }
  return { shape: [rows, ...rest], data: out };
}

/** Splits along the first axis into `n` equal parts (inverse of {@link concatRows}). */
export function splitRows(t: HostTensor, n: number): HostTensor[] {
  const rows = (t.shape[0] as number) / n;
  const size = t.data.length / n;
  return Array.from({ length: n }, (_, i) => ({ shape: [rows, ...t.shape.slice(1)], data: t.data.slice(i * size, (i + 1) * size) }));
}
