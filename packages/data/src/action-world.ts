/**
 * The synthetic action world: an articulated stick figure performing 12 actions, rendered two ways —
 * as captioned still images (the "web photos" a CLIP learns from) and as short videos (the "action videos"
 * a video model is evaluated on). Pure and deterministic under a seed; `@lss/data/node`'s
 * `generateActionWorld` writes it to disk (videos in the UCF-101 layout, three splits; stills + captions).
 *
 * Properties the world is built to have (issue 13; checked by `action-world.test.ts`):
 * - a single frame carries partial evidence: some actions have poses no other action has (clapping,
 *   bowing, kicking), others share their poses (raising vs lowering an arm and squatting down vs standing up
 *   draw their poses from the same distribution; waving ends where raising an arm ends; walking, running
 *   and jumping jacks all spread the legs);
 * - the time order carries the rest (a squat down is a stand up played backwards);
 * - videos differ in domain from stills: stills are centred, large, on a plain light background without
 *   noise; videos have a textured two-tone background (ground and sky with a horizon and stripes), a smaller
 *   figure off centre, a panning camera, sensor noise and codec artefacts. Both draw a dark figure on a light
 *   scene (world version 2): when the videos drew any figure colour on scenes of any brightness (version 1), a
 *   CLIP trained on the stills knew nothing about them. One factor at a time, on renders made for the diagnosis
 *   (no test split involved), a CLIP at 55 % on held-out stills scored 77 % zero-shot on videos rendered like
 *   the stills, 15 % with version 1's background brightness alone, 42 % with its figure colours alone, 48 % with
 *   its figure size alone, and unchanged with its noise, camera pan or stripes alone (notes in the demo README).
 *
 * Figure coordinates: y up, standing height about 1, feet on y = 0. Limb angles are measured from
 * straight down, positive towards the figure's outside (mirrored for its left side).
 */
import { ConfigError, SeededRandom } from '@lss/core';
import type { RgbFrames } from './types.js';

/** One action of the world: folder name (UCF-101 style), category name, descriptions, caption phrases. */
export interface WorldAction {
  /** CamelCase folder and class name, as UCF-101's (`SquattingDown`). */
  readonly id: string;
  /**
   * Category name for the category concept space and zero-shot prompts ("squatting down"); equals
   * `normalizeLabel(id)` of `@lss/concepts`, so the UCF-101 zero-shot protocol prompts with it unchanged.
   */
  readonly name: string;
  /** Four short descriptions for the description concept space (LSS uses 4-6 per class), written for this world. */
  readonly descriptions: readonly string[];
  /** Verb phrases the still captions use ("squatting down", "bending the knees to squat"). */
  readonly phrases: readonly string[];
}

/** The world's actions, in class order (label k = `WORLD_ACTIONS[k]`). */
export const WORLD_ACTIONS: readonly WorldAction[] = [
  {
    id: 'Waving',
    name: 'waving',
    descriptions: [
      'a person holds one arm up above the shoulder and swings the forearm from side to side',
      'one hand is raised high and moves left and right again and again',
      'the elbow stays up while the hand goes back and forth',
      'a greeting with a lifted arm that rocks side to side',
    ],
    phrases: ['waving', 'waving a hand', 'waving hello', 'waving one arm'],
  },
  {
    id: 'RaisingAnArm',
    name: 'raising an arm',
    descriptions: [
      'a person lifts one arm from the side of the body up above the head',
      'one hand starts low at the hip and ends high in the air',
      'the arm swings upward once and stays up',
      'an arm goes from hanging down to pointing at the sky',
    ],
    phrases: ['raising an arm', 'raising one arm', 'lifting an arm', 'putting a hand up'],
  },
  {
    id: 'LoweringAnArm',
    name: 'lowering an arm',
    descriptions: [
      'a person brings one raised arm down to the side of the body',
      'one hand starts high above the head and ends low at the hip',
      'the arm swings downward once and stays down',
      'an arm goes from pointing at the sky to hanging down',
    ],
    phrases: ['lowering an arm', 'lowering one arm', 'bringing an arm down', 'putting a hand down'],
  },
  {
    id: 'SquattingDown',
    name: 'squatting down',
    descriptions: [
      'a person bends the knees and lowers the hips from standing to a squat',
      'the body gets lower as the knees bend outward',
      'starts standing tall and ends crouched near the ground',
      'the hips sink down while the arms come forward for balance',
    ],
    phrases: ['squatting down', 'squatting', 'crouching down', 'bending the knees'],
  },
  {
    id: 'StandingUp',
    name: 'standing up',
    descriptions: [
      'a person straightens the legs and rises from a squat to standing',
      'the body gets taller as the knees straighten',
      'starts crouched near the ground and ends standing tall',
      'the hips rise while the arms come back down to the sides',
    ],
    phrases: ['standing up', 'getting up', 'rising from a squat', 'straightening up'],
  },
  {
    id: 'JumpingJacks',
    name: 'jumping jacks',
    descriptions: [
      'a person jumps while spreading the legs and raising both arms, then brings them back together',
      'arms and legs open into a star shape and close again, over and over',
      'both hands meet above the head while the feet land wide apart',
      'a rhythmic exercise of opening and closing the arms and legs',
    ],
    phrases: ['jumping jacks', 'doing jumping jacks', 'doing star jumps', 'doing a jumping jack'],
  },
  {
    id: 'Clapping',
    name: 'clapping',
    descriptions: [
      'a person bends both elbows and brings the hands together in front of the chest again and again',
      'both hands meet and part in front of the body',
      'the forearms swing inward and outward with bent elbows',
      'repeated applause with both arms held in front',
    ],
    phrases: ['clapping', 'clapping hands', 'applauding', 'clapping both hands'],
  },
  {
    id: 'Kicking',
    name: 'kicking',
    descriptions: [
      'a person swings one leg up and out and brings it back to the ground',
      'one foot leaves the ground and rises high to the side',
      'the body stands on one leg while the other leg strikes out',
      'a single fast swing of a leg away from the body',
    ],
    phrases: ['kicking', 'kicking a leg', 'doing a kick', 'kicking out one leg'],
  },
  {
    id: 'Bowing',
    name: 'bowing',
    descriptions: [
      'a person bends the upper body forward at the hips and straightens again',
      'the head and chest lean down towards the ground and come back up',
      'the legs stay straight while the torso tips forward',
      'a polite forward bend of the whole upper body',
    ],
    phrases: ['bowing', 'taking a bow', 'bending forward', 'bowing the upper body'],
  },
  {
    id: 'Walking',
    name: 'walking',
    descriptions: [
      'a person steps forward with alternating legs while the arms swing gently',
      'the legs scissor back and forth at an easy pace',
      'the body moves sideways across the scene one step at a time',
      'each arm swings opposite to the leg on the same side',
    ],
    phrases: ['walking', 'walking along', 'taking a walk', 'stepping forward'],
  },
  {
    id: 'Running',
    name: 'running',
    descriptions: [
      'a person moves fast with long strides, bent arms and knees and the body leaning forward',
      'the legs swing far apart with deeply bent knees',
      'the body crosses the scene quickly with a forward lean',
      'bent elbows pump back and forth at a fast pace',
    ],
    phrases: ['running', 'running fast', 'jogging', 'sprinting'],
  },
  {
    id: 'Jumping',
    name: 'jumping',
    descriptions: [
      'a person crouches and leaps straight up into the air with the arms raised, then lands',
      'both feet leave the ground at the same time',
      'the body bends low and then springs upward',
      'the arms reach up as the whole body rises off the ground',
    ],
    phrases: ['jumping', 'jumping up', 'leaping into the air', 'jumping in place'],
  },
];

/** Templates of still captions (`{}` = a phrase of the action). */
export const STILL_CAPTION_TEMPLATES: readonly string[] = [
  'a photo of a person {}.',
  'a person {}.',
  'someone {}.',
  'a picture of someone {}.',
  'a photo of a man {}.',
  'a photo of a woman {}.',
  'a stick figure {}.',
  'an image of a person {}.',
];

/** Zero-shot prompt templates for this world's videos (`{}` = the category name). */
export const WORLD_VIDEO_PROMPTS: readonly string[] = ['a photo of a person {}.', 'a video of a person {}.'];

/** Per-sample variation of how an action is performed (amplitude, tempo, body). */
interface Style {
  readonly amplitude: number;
  readonly cycles: number;
  readonly phase: number;
  readonly direction: 1 | -1;
  readonly side: 1 | -1;
  readonly limb: number;
  readonly torso: number;
}

/** A pose: joint angles (radians) and root offsets (figure units). */
interface Pose {
  lean: number;
  armR: number;
  elbowR: number;
  armL: number;
  elbowL: number;
  legR: number;
  kneeR: number;
  legL: number;
  kneeL: number;
  /** Horizontal root offset. */
  x: number;
  /** Height of the lowest foot above the ground (jumps). */
  lift: number;
}

const ease = (p: number) => 0.5 - 0.5 * Math.cos(Math.PI * Math.min(1, Math.max(0, p)));
const restPose = (): Pose => ({
  lean: 0,
  armR: 0.2,
  elbowR: 0.1,
  armL: 0.2,
  elbowL: 0.1,
  legR: 0.08,
  kneeR: 0,
  legL: 0.08,
  kneeL: 0,
  x: 0,
  lift: 0,
});

function squat(pose: Pose, s: number): void {
  pose.legR = pose.legL = 0.08 + 1.15 * s;
  pose.kneeR = pose.kneeL = -2.0 * s;
  pose.armR = pose.armL = 0.2 + 1.1 * s;
}

/** Pose of action `label` at progress `p` in [0, 1] of a clip. */
function poseAt(label: number, p: number, st: Style): Pose {
  const pose = restPose();
  const a = st.amplitude;
  const cyc = (n: number) => Math.sin(2 * Math.PI * n * p + st.phase);
  switch (WORLD_ACTIONS[label]!.id) {
    case 'Waving':
      pose.armR = 2.55;
      pose.elbowR = 0.35 + 0.65 * a * cyc(st.cycles);
      break;
    case 'RaisingAnArm':
      pose.armR = 0.2 + 2.6 * ease(p);
      break;
    case 'LoweringAnArm':
      pose.armR = 2.8 - 2.6 * ease(p);
      break;
    case 'SquattingDown':
      squat(pose, a * 0.9 * ease(p));
      break;
    case 'StandingUp':
      squat(pose, a * 0.9 * (1 - ease(p)));
      break;
    case 'JumpingJacks': {
      const c = 0.5 - 0.5 * cyc(st.cycles);
      pose.armR = pose.armL = 0.2 + 2.5 * c * a;
      pose.legR = pose.legL = 0.08 + 0.42 * c * a;
      pose.lift = 0.06 * Math.sin(Math.PI * c);
      break;
    }
    case 'Clapping': {
      const c = 0.5 + 0.5 * cyc(st.cycles + 1);
      pose.armR = pose.armL = 1.25;
      pose.elbowR = pose.elbowL = -(1.9 + 0.95 * c);
      break;
    }
    case 'Kicking': {
      const k = Math.sin(Math.PI * p) ** 2;
      pose.legR = 0.08 + 1.35 * a * k;
      pose.kneeR = -0.7 * Math.sin(Math.PI * Math.min(1, 2 * p));
      pose.armR = pose.armL = 0.5;
      break;
    }
    case 'Bowing':
      pose.lean = 1.15 * a * Math.sin(Math.PI * p);
      pose.armR = pose.armL = 0.05 + pose.lean * 0.9;
      break;
    case 'Walking': {
      const w = 0.42 * a * cyc(st.cycles);
      pose.legR = w;
      pose.legL = -w;
      pose.kneeR = w < 0 ? 0.5 * w : 0;
      pose.kneeL = w > 0 ? -0.5 * w : 0;
      pose.armR = -0.5 * w + 0.1;
      pose.armL = 0.5 * w + 0.1;
      pose.x = st.direction * 0.35 * (p - 0.5);
      break;
    }
    case 'Running': {
      const w = 0.8 * a * cyc(st.cycles * 1.6);
      pose.lean = 0.25 * st.direction;
      pose.legR = w;
      pose.legL = -w;
      pose.kneeR = -0.9 - 0.3 * w;
      pose.kneeL = -0.9 + 0.3 * w;
      pose.armR = -0.7 * w + 0.2;
      pose.armL = 0.7 * w + 0.2;
      pose.elbowR = pose.elbowL = -1.5;
      pose.x = st.direction * 0.8 * (p - 0.5);
      pose.lift = 0.05 * Math.abs(cyc(st.cycles * 1.6));
      break;
    }
    case 'Jumping': {
      const j = Math.sin(2 * Math.PI * 2 * p + st.phase * 0.2);
      const air = Math.max(0, j);
      const crouch = Math.max(0, -j);
      squat(pose, 0.55 * crouch * a);
      pose.lift = 0.28 * air * a;
      pose.armR = pose.armL = 0.3 + 2.3 * air;
      break;
    }
  }
  if (st.side === -1) {
    // The action performed with the other side (waving with the left hand, kicking the left leg).
    [pose.armR, pose.armL] = [pose.armL, pose.armR];
    [pose.elbowR, pose.elbowL] = [pose.elbowL, pose.elbowR];
    [pose.legR, pose.legL] = [pose.legL, pose.legR];
    [pose.kneeR, pose.kneeL] = [pose.kneeL, pose.kneeR];
  }
  return pose;
}

/**
 * The joint angles and root offsets of action `label` at progress `p` in [0, 1] of a performance drawn from
 * `seed` (for tests and documentation; the renderers use the same function).
 */
export function actionPose(label: number, p: number, seed: number | string): Readonly<Record<keyof Pose, number>> {
  checkLabel('actionPose', label);
  return poseAt(label, p, drawStyle(new SeededRandom(seed)));
}

/** A line segment (or a disc when `a === b`) in figure coordinates. */
type Segment = readonly [ax: number, ay: number, bx: number, by: number];

/** Forward kinematics: the figure's segments (head last, as a disc) in figure coordinates. */
function skeleton(pose: Pose, st: Style): { segments: Segment[]; head: readonly [number, number, number] } {
  const L = st.limb;
  const torso = 0.32 * st.torso;
  const upperArm = 0.16 * L;
  const forearm = 0.15 * L;
  const thigh = 0.24 * L;
  const shin = 0.24 * L;
  const dir = (angle: number, sign: number) => [sign * Math.sin(angle), -Math.cos(angle)] as const;
  // Leg extents decide the hip height: the lowest foot touches the ground, plus the jump.
  const legEnd = (hip: number, knee: number, sign: number) => {
    const k = dir(hip, sign);
    const f = dir(hip + knee, sign);
    return { kx: k[0] * thigh, ky: k[1] * thigh, fx: k[0] * thigh + f[0] * shin, fy: k[1] * thigh + f[1] * shin };
  };
  const right = legEnd(pose.legR, pose.kneeR, 1);
  const left = legEnd(pose.legL, pose.kneeL, -1);
  const hipY = -Math.min(right.fy, left.fy) + pose.lift;
  const hipX = pose.x;
  const neckX = hipX + torso * Math.sin(pose.lean);
  const neckY = hipY + torso * Math.cos(pose.lean);
  const segments: Segment[] = [
    [hipX, hipY, neckX, neckY],
    [hipX, hipY, hipX + right.kx, hipY + right.ky],
    [hipX + right.kx, hipY + right.ky, hipX + right.fx, hipY + right.fy],
    [hipX, hipY, hipX + left.kx, hipY + left.ky],
    [hipX + left.kx, hipY + left.ky, hipX + left.fx, hipY + left.fy],
  ];
  for (const [arm, elbow, sign] of [
    [pose.armR, pose.elbowR, 1],
    [pose.armL, pose.elbowL, -1],
  ] as const) {
    const u = dir(arm, sign);
    const f = dir(arm + elbow, sign);
    const ex = neckX + u[0] * upperArm;
    const ey = neckY + u[1] * upperArm;
    segments.push([neckX, neckY, ex, ey], [ex, ey, ex + f[0] * forearm, ey + f[1] * forearm]);
  }
  const headR = 0.075 * st.torso;
  const headD = 0.1 * st.torso;
  return { segments, head: [neckX + headD * Math.sin(pose.lean), neckY + headD * Math.cos(pose.lean), headR] };
}

type Rgb = readonly [number, number, number];

/** Where and how the figure is drawn in one frame (pixels). */
interface Placement {
  /** Pixel x of the figure origin (between the feet at rest). */
  readonly ox: number;
  /** Pixel y of the ground line. */
  readonly oy: number;
  /** Pixels per figure unit. */
  readonly scale: number;
  /** Line thickness in pixels. */
  readonly thickness: number;
  readonly color: Rgb;
}

/** Draws the figure with anti-aliased capsules over `out` (one `[H, W, 3]` frame at `offset`). */
function drawFigure(out: Float32Array, offset: number, W: number, H: number, pose: Pose, st: Style, at: Placement): void {
  const { segments, head } = skeleton(pose, st);
  const px = (x: number) => at.ox + x * at.scale;
  const py = (y: number) => at.oy - y * at.scale;
  const segs = segments.map(([ax, ay, bx, by]) => [px(ax), py(ay), px(bx), py(by)] as const);
  const hx = px(head[0]);
  const hy = py(head[1]);
  const hr = head[2] * at.scale;
  const half = at.thickness / 2;
  for (let y = 0; y < H; y++) {
    const cy = y + 0.5;
    for (let x = 0; x < W; x++) {
      const cx = x + 0.5;
      let d = Math.hypot(cx - hx, cy - hy) - hr;
      for (const [ax, ay, bx, by] of segs) {
        const vx = bx - ax;
        const vy = by - ay;
        const len2 = vx * vx + vy * vy;
        const t = len2 > 0 ? Math.min(1, Math.max(0, ((cx - ax) * vx + (cy - ay) * vy) / len2)) : 0;
        const e = Math.hypot(cx - ax - t * vx, cy - ay - t * vy) - half;
        if (e < d) d = e;
      }
      const cover = Math.min(1, Math.max(0, 0.5 - d));
      if (cover > 0) {
        const o = offset + (y * W + x) * 3;
        for (let c = 0; c < 3; c++) out[o + c] = (out[o + c] as number) * (1 - cover) + (at.color[c] as number) * cover;
      }
    }
  }
}

function drawStyle(rng: SeededRandom): Style {
  return {
    amplitude: rng.range(0.85, 1.15),
    cycles: 2 + rng.int(2),
    phase: rng.range(0, 2 * Math.PI),
    direction: rng.bernoulli(0.5) ? 1 : -1,
    side: rng.bernoulli(0.75) ? 1 : -1,
    limb: rng.range(0.9, 1.1),
    torso: rng.range(0.92, 1.08),
  };
}

const toBytes = (values: Float32Array, out: Uint8Array, offset = 0) => {
  for (let i = 0; i < values.length; i++) out[offset + i] = Math.round(Math.min(255, Math.max(0, values[i] as number)));
};

/** Options of {@link renderStill}. */
export interface StillOptions {
  readonly label: number;
  /** Square size in pixels (default 32, the tiny CLIP's input). */
  readonly size?: number;
  readonly seed: number | string;
}

function checkLabel(what: string, label: number): void {
  if (!Number.isInteger(label) || label < 0 || label >= WORLD_ACTIONS.length) {
    throw new ConfigError(
      `${what}: label must be an integer in [0, ${WORLD_ACTIONS.length - 1}] (one of the world's ${WORLD_ACTIONS.length} actions); received ${label}.`,
    );
  }
}
function checkSize(what: string, name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`${what}: ${name} must be an integer >= ${min}; received ${v}.`);
}

/**
 * Renders one captionable still: the action at a uniformly drawn moment, centred and large on a plain
 * light background, without noise (the "web photo" domain).
 *
 * Output shape: `[1, size, size, 3]` uint8 RGB (a one-frame {@link RgbFrames}).
 */
export function renderStill(options: StillOptions): RgbFrames {
  checkLabel('renderStill', options.label);
  const S = options.size ?? 32;
  checkSize('renderStill', 'size', S, 8);
  const rng = new SeededRandom(options.seed);
  const st = drawStyle(rng);
  const p = rng.uniform();
  const bg: Rgb = [rng.range(190, 250), rng.range(190, 250), rng.range(190, 250)];
  const color: Rgb = [rng.range(0, 90), rng.range(0, 90), rng.range(0, 90)];
  const frame = new Float32Array(S * S * 3);
  for (let i = 0; i < S * S; i++) frame.set(bg, i * 3);
  const scale = S * rng.range(0.72, 0.82);
  const pose = poseAt(options.label, p, st);
  pose.x = 0; // photos are framed on the person
  drawFigure(frame, 0, S, S, pose, st, {
    ox: S * rng.range(0.45, 0.55),
    oy: S * rng.range(0.9, 0.95),
    scale,
    thickness: Math.max(1.2, scale * 0.055),
    color,
  });
  const data = new Uint8Array(S * S * 3);
  toBytes(frame, data);
  return { data, shape: [1, S, S, 3] };
}

/** Options of {@link renderActionVideo}. */
export interface ActionVideoOptions {
  readonly label: number;
  /** Square frame size in pixels (even; default 48). */
  readonly size?: number;
  /** Frames (default 16). */
  readonly numFrames?: number;
  /** Seed of the actor and scene (shared by the clips of one UCF-101 group). */
  readonly groupSeed: number | string;
  /** Seed of this clip (performance, camera, noise). */
  readonly seed: number | string;
}

/**
 * Renders one action video (the "action video" domain): a textured two-tone light background (sky levels
 * 170-250 over ground 140-218, stripes of amplitude 14), a smaller dark figure off centre, a panning camera,
 * Gaussian sensor noise (std 6 / 255).
 *
 * Output shape: `[numFrames, size, size, 3]` uint8 RGB.
 */
export function renderActionVideo(options: ActionVideoOptions): RgbFrames {
  checkLabel('renderActionVideo', options.label);
  const S = options.size ?? 48;
  const T = options.numFrames ?? 16;
  checkSize('renderActionVideo', 'size', S, 8);
  checkSize('renderActionVideo', 'numFrames', T, 2);
  const scene = new SeededRandom(options.groupSeed);
  // A light sky over a darker ground; the figure is dark (levels 0-90) as in the stills, at least 50 levels
  // below both before the stripes (+-14) and the noise.
  const sky: Rgb = [scene.range(170, 250), scene.range(170, 250), scene.range(170, 250)];
  const ground: Rgb = [scene.range(140, 218), scene.range(140, 218), scene.range(140, 218)];
  const horizon = scene.range(0.55, 0.8);
  const stripes = scene.range(3, 7);
  const stripeAngle = scene.range(0, Math.PI);
  const color: Rgb = [scene.range(0, 90), scene.range(0, 90), scene.range(0, 90)];
  const actor = drawStyle(scene);
  const rng = new SeededRandom(options.seed);
  const perf = drawStyle(rng);
  const st: Style = { ...perf, limb: actor.limb, torso: actor.torso, side: actor.side };
  const scale = S * rng.range(0.5, 0.66);
  const pan = rng.range(-0.12, 0.12) * S;
  const tilt = rng.range(-0.05, 0.05) * S;
  const ox0 = S * rng.range(0.42, 0.58);
  const oy0 = S * rng.range(0.86, 0.92);
  const start = rng.range(0, 0.1);
  const span = rng.range(0.85, 1) - start;
  const frameSize = S * S * 3;
  const frames = new Float32Array(T * frameSize);
  const c0 = Math.cos(stripeAngle);
  const s0 = Math.sin(stripeAngle);
  for (let t = 0; t < T; t++) {
    const p = start + (span * t) / (T - 1);
    const camX = pan * (t / (T - 1) - 0.5);
    const camY = tilt * (t / (T - 1) - 0.5);
    const off = t * frameSize;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const wx = x + camX;
        const wy = y + camY;
        const base = wy / S < horizon ? sky : ground;
        const tex = 14 * Math.sin(((wx * c0 + wy * s0) / S) * 2 * Math.PI * stripes);
        const o = off + (y * S + x) * 3;
        for (let c = 0; c < 3; c++) frames[o + c] = (base[c] as number) + tex;
      }
    }
    drawFigure(frames, off, S, S, poseAt(options.label, p, st), st, {
      ox: ox0 - camX,
      oy: oy0 - camY,
      scale,
      thickness: Math.max(1.2, scale * 0.06),
      color,
    });
  }
  for (let i = 0; i < frames.length; i++) frames[i] = (frames[i] as number) + rng.normal(0, 6);
  const data = new Uint8Array(T * frameSize);
  toBytes(frames, data);
  return { data, shape: [T, S, S, 3] };
}

/** A caption for a still of action `label` (a template and a phrase drawn from `rng`). */
export function captionFor(label: number, rng: SeededRandom): string {
  checkLabel('captionFor', label);
  const action = WORLD_ACTIONS[label] as WorldAction;
  const template = STILL_CAPTION_TEMPLATES[rng.int(STILL_CAPTION_TEMPLATES.length)] as string;
  return template.replace('{}', action.phrases[rng.int(action.phrases.length)] as string);
}

/**
 * A larger generated vocabulary of action phrases for this world (the "lss-b" style category space):
 * body part x movement x manner combinations, the world's own names included. Deterministic.
 */
export function worldVocabulary(): string[] {
  const parts = [
    'an arm',
    'both arms',
    'a leg',
    'both legs',
    'the head',
    'the upper body',
    'the hips',
    'a hand',
    'both hands',
    'the knees',
  ];
  const moves = ['raising', 'lowering', 'swinging', 'bending', 'stretching', 'shaking', 'twisting', 'lifting'];
  const out = new Set<string>(WORLD_ACTIONS.map((a) => a.name));
  for (const m of moves) for (const p of parts) out.add(`${m} ${p}`);
  for (const extra of [
    'hopping',
    'skipping',
    'spinning',
    'stretching',
    'dancing',
    'marching',
    'crawling',
    'sitting down',
    'lying down',
    'climbing',
    'punching',
    'throwing',
    'pointing',
    'saluting',
    'shrugging',
    'nodding',
    'balancing on one leg',
    'lunging',
    'push ups',
    'sit ups',
  ]) {
    out.add(extra);
  }
  return [...out];
}
