/**
 * `tf.variableGrads` and `tf.grads` with PyTorch autograd's memory behaviour: the backward pass frees
 * each node's saved tensors and each activation gradient as soon as it has been used.
 *
 * tfjs-core 4.22's `engine.gradients` keeps every activation gradient (`dy`) of the backward pass and
 * every saved forward tensor until the whole backward has finished, so its peak is the forward's saved
 * tensors PLUS the gradient of every activation. PyTorch releases a node's buffers once its backward has
 * run (`retain_graph=False`). Measured on the torch backend (ViT-B/16 video tower, 2 blocks, 2 x 224 px +
 * 8 x 96 px views of 8 frames, student forward + backward, with the backbone's explicit-gradient layers):
 * saved tensors 1.2 GiB at the end of the forward; peak 3.1 GiB with `tf.variableGrads`, 1.5 GiB here.
 *
 * Same forward (`f` under a tape, in a tidy scope), the same pruning of the tape to the nodes on a path
 * from x to y, and the same gradient functions; only the walk back over the tape is ours. Results are the same
 * tensors tfjs would compute (tested in `autograd.test.ts`). Relies on tfjs-core 4.22 internals
 * (`engine.state.activeTape`, `startTape`/`endTape`, tape nodes' `saved` and `gradient`), pinned by the
 * workspace's tfjs-core version.
 */
import * as tf from '@tensorflow/tfjs-core';

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<R>(start: () => void, end: () => void, f: () => R): R;
  tidy<R extends tf.TensorContainer>(nameOrFn: string | (() => R), fn?: () => R): R;
}

const engineInternals = () => tf.engine() as unknown as EngineInternals;

/**
 * The tape nodes on a path from some x to y, in tape order, each with only the inputs that depend on
 * an x (the others get no gradient).
 */
export function nodesFromXToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id)); // tensors that depend on an x
  const reachedFromX: boolean[] = tape.map((node) => {
    if (!Object.values(node.inputs).some((t) => fromX.has(t.id))) return false;
    for (const o of node.outputs) fromX.add(o.id);
    return true;
  });
  const toY = new Set([y.id]); // tensors y depends on
  const leadsToY: boolean[] = new Array(tape.length).fill(false);
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i] as TapeNode;
    if (!node.outputs.some((o) => toY.has(o.id))) continue;
    leadsToY[i] = true;
    for (const t of Object.values(node.inputs)) toY.add(t.id);
  }
  const out: TapeNode[] = [];
  tape.forEach((node, i) => {
    if (!reachedFromX[i] || !leadsToY[i]) return;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (fromX.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  });
  return out;
}

/**
 * Gradients of the scalar `f()` with respect to `xs`, freeing as it goes (see the module comment).
 * `dy` seeds the backward (default ones; a caller's `dy` is never disposed). Returns the value and one
 * gradient per x (null where `f` does not depend on x; an error unless `allowNoGradients`).
 */
export function gradients(
  f: () => tf.Tensor,
  xs: readonly tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients = false,
): { value: tf.Tensor; grads: (tf.Tensor | null)[] } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  const engine = engineInternals();
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = engine.state.activeTape as TapeNode[];
  const filtered = nodesFromXToY(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0) {
    throw new Error('Cannot compute the gradient of y = f(x): no operation leads from x to y inside f.');
  }
  const releaseSaved = engine.state.gradientDepth === 0; // higher-order gradients still need them
  return engine.tidy('backward', () => {
    const grad = new Map<number, tf.Tensor>(); // tensor id -> its accumulated gradient
    const seed = dy ?? tf.ones(y.shape);
    // A gradient function may hand one tensor to several inputs or pass its dy through, so one tensor can
    // be the gradient of several ids: count the references and free a tensor when none is left.
    const refs = new Map<tf.Tensor, number>();
    const drop = (t: tf.Tensor) => {
      const n = (refs.get(t) ?? 0) - 1;
      if (n > 0) return void refs.set(t, n);
      refs.delete(t);
      if (t !== seed) t.dispose();
    };
    const setGrad = (id: number, t: tf.Tensor) => {
      refs.set(t, (refs.get(t) ?? 0) + 1);
      const old = grad.get(id);
      grad.set(id, t);
      if (old) drop(old);
    };
    setGrad(y.id, seed);
    const wanted = new Set(xs.map((x) => x.id));
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i] as TapeNode;
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const thunks = node.gradient(node.outputs.map((o) => grad.get(o.id) ?? null));
      for (const name in node.inputs) {
        const thunk = thunks[name];
        if (!thunk)
          throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}; gradients exist for ${Object.keys(thunks)}.`);
        const dx = engine.tidy(thunk);
        const x = node.inputs[name] as tf.Tensor;
        if (dx.dtype !== 'float32')
          throw new Error(`The gradient of input ${name} of ${node.kernelName} has dtype ${dx.dtype}; expected float32.`);
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(`The gradient of input ${name} of ${node.kernelName} has shape [${dx.shape}]; the input has [${x.shape}].`);
        }
        const current = grad.get(x.id);
        if (current === undefined) {
          setGrad(x.id, dx);
        } else {
          setGrad(x.id, tf.add(current, dx));
          if (!refs.has(dx) && dx !== seed) dx.dispose(); // a part held by no id
        }
      }
      // This node is done: its outputs' gradients are needed by no other node (each tensor is the output
      // of one node, and every consumer came later on the tape), and neither are its saved tensors.
      for (const o of node.outputs) {
        const g = grad.get(o.id);
        if (g === undefined || wanted.has(o.id)) continue;
        grad.delete(o.id);
        drop(g);
      }
      if (releaseSaved) for (const t of node.saved ?? []) t.dispose();
    }
    const grads = xs.map((x) => grad.get(x.id) ?? null);
    if (releaseSaved) {
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      engine.state.activeTape = null;
    }
    return { value: y, grads } as unknown as tf.TensorContainer;
  }) as unknown as { value: tf.Tensor; grads: (tf.Tensor | null)[] };
}

/**
 * As `tf.variableGrads(f, varList)` (gradients of the scalar `f()` with respect to the trainable
 * variables, keyed by variable name), with the backward freeing as it goes (see the module comment).
 */
export function variableGrads(f: () => tf.Scalar, varList?: readonly tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const all = varList ?? Object.values(tf.engine().registeredVariables);
  const trainable = all.filter((v) => v.trainable);
  if (trainable.length === 0) {
    throw new Error(`variableGrads() expects at least one trainable variable; none of the ${all.length} given is trainable.`);
  }
  const { value, grads } = gradients(f, trainable, undefined, true);
  if (!grads.some((g) => g !== null)) {
    throw new Error('variableGrads(): no variable is connected to the result of f. Use the variables inside f.');
  }
  if (value.rank !== 0) throw new Error(`The f passed to variableGrads must return a scalar; it returned a rank-${value.rank} tensor.`);
  const named: tf.NamedTensorMap = {};
  trainable.forEach((v, i) => {
    const g = grads[i];
    if (g) named[v.name] = g;
  });
  return { value: value as tf.Scalar, grads: named };
}

/** As `tf.grads(f)`: gradients of `f(...xs)` with respect to each x, seeded by `dy`, freeing as it goes. */
export function grads(f: (...xs: tf.Tensor[]) => tf.Tensor): (xs: readonly tf.Tensor[], dy?: tf.Tensor) => tf.Tensor[] {
  return (xs, dy) => {
    const { value, grads: gs } = gradients(() => f(...xs), xs, dy, false);
    value.dispose();
    return gs.map((g, i) => g ?? tf.zerosLike(xs[i] as tf.Tensor));
  };
}
