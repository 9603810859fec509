/**
 * A c10d process group (PyTorch's distributed runtime, Gloo backend) over host typed arrays.
 *
 * Semantics follow `torch.distributed`: every rank calls the same collectives in the same order; each call
 * is asynchronous (it runs on a libuv worker thread, so signals and timers still run) and times out after
 * `timeoutMs`. Arrays are reduced in place; do not touch them until the returned promise settles.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { LssError } from '@lss/core';
import { type CollectiveArray, loadBinding, type NativeProcessGroup } from './native.js';
import { parseInitMethod, type Rendezvous } from './rendezvous.js';

export type { CollectiveArray } from './native.js';

/** A collective failed: a peer died, hung past the timeout, or the arrays disagree across ranks. */
export class DistributedError extends LssError {
  /** The rank that raised it. */
  readonly rank: number;
  readonly collective: string;
  /** Ranks whose process was found exited when the collective failed (only ranks on this host can be checked). */
  readonly deadRanks: readonly number[];
  constructor(message: string, rank: number, collective: string, options?: { cause?: unknown; deadRanks?: readonly number[] }) {
    super(message, options);
    this.rank = rank;
    this.collective = collective;
    this.deadRanks = options?.deadRanks ?? [];
  }
}

/** Where a rank runs (gathered when the group is made), to find out which rank died when a collective fails. */
export interface PeerProcess {
  readonly host: string;
  readonly pid: number;
}

/**
 * Whether process `pid` of this host has exited: gone (ESRCH), or a zombie its parent has not reaped yet
 * (torchrun reaps its workers only every few seconds).
 */
export function processExited(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8'); // "pid (comm) S ...": the state follows the last ')'
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false; // no procfs (macOS): kill(pid, 0) alone decides
  }
}

/** Blocks the thread for `ms` (failure path only: a collective already failed). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Reduction of {@link ProcessGroup.allReduce}: `mean` is `sum / worldSize`, as DDP averages gradients. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

export interface ProcessGroupOptions extends Rendezvous {
  /** Timeout of rendezvous and of every collective, in milliseconds (PyTorch's default is 30 min). */
  readonly timeoutMs?: number;
  /** Largest all-reduce bucket in bytes (PyTorch DDP: 25 MiB). */
  readonly bucketBytes?: number;
}

/** 25 MiB, the bucket size of PyTorch's DistributedDataParallel. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

/** The collectives LSS.js uses, with PyTorch's names. */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly backend = 'gloo' as const;
  readonly timeoutMs: number;
  private readonly bucketBytes: number;
  private native: NativeProcessGroup | undefined;
  /** Host and pid of every rank, in rank order (empty until {@link init} gathered them). */
  private peers: readonly PeerProcess[] = [];

  private constructor(options: ProcessGroupOptions, native: NativeProcessGroup) {
    this.rank = options.rank;
    this.worldSize = options.worldSize;
    this.localRank = options.localRank;
    this.timeoutMs = options.timeoutMs ?? 30 * 60_000;
    this.bucketBytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    this.native = native;
  }

  /**
   * Joins the group: rank 0 serves the TCP store at the init method's address (as torchrun's MASTER_ADDR/
   * MASTER_PORT), the others connect; returns once all `worldSize` ranks have joined.
   *
   * @throws BackendUnavailableError when the c10d binding was not built; DistributedError when the
   *   rendezvous fails or times out.
   */
  static async init(options: ProcessGroupOptions): Promise<ProcessGroup> {
    const binding = loadBinding();
    const method = parseInitMethod(options.initMethod);
    const timeoutMs = options.timeoutMs ?? 30 * 60_000;
    // The TCP store's constructor blocks until every rank has connected: run it off the main thread's
    // critical path by yielding first (it is short when the ranks start together).
    await new Promise((resolve) => setImmediate(resolve));
    try {
      const native = new binding.ProcessGroup(
        method.kind === 'tcp'
          ? {
              rank: options.rank,
              size: options.worldSize,
              timeoutMs,
              store: 'tcp',
              host: method.host,
              port: method.port,
              isServer: options.rank === 0,
            }
          : { rank: options.rank, size: options.worldSize, timeoutMs, store: 'file', path: method.path },
      );
      const group = new ProcessGroup({ ...options, timeoutMs }, native);
      await group.gatherPeers();
      return group;
    } catch (cause) {
      if (cause instanceof DistributedError) throw cause;
      throw new DistributedError(
        `Rank ${options.rank} of ${options.worldSize} could not join the process group at ${options.initMethod} within ${timeoutMs / 1000} s: ${(cause as Error).message.slice(0, 500)}. Check that every rank uses the same address and world size and that the port is free and reachable.`,
        options.rank,
        'rendezvous',
        { cause },
      );
    }
  }

  /**
   * Reduces `arrays` in place across ranks (`op` over ranks, element-wise). Arrays are packed into buckets
   * of at most `bucketBytes`, one c10d call per bucket. Every rank must pass arrays of the same lengths
   * and types in the same order.
   */
  allReduce(arrays: readonly CollectiveArray[], op: ReduceOp = 'sum'): Promise<void> {
    return this.run('allReduce', (native) => native.allReduce([...arrays], op, this.bucketBytes));
  }

  /**
   * {@link allReduce} that blocks the calling thread until every rank has contributed, for reductions
   * needed inside a synchronous computation (a batch statistic inside a gradient tape), as PyTorch's
   * collectives block inside autograd. Keep it to small arrays; gradients go through {@link allReduce}.
   *
   * @throws DistributedError when a peer dies or the timeout passes.
   */
  allReduceSync(arrays: readonly CollectiveArray[], op: ReduceOp = 'sum'): void {
    const native = this.open('allReduce');
    const started = Date.now();
    try {
      native.allReduce([...arrays], op, this.bucketBytes, true);
    } catch (cause) {
      throw this.failure('allReduce', started, cause);
    }
  }

  /** Copies `root`'s `array` into `array` on every rank. */
  broadcast(array: CollectiveArray, root = 0): Promise<void> {
    return this.run('broadcast', (native) => native.broadcast(array, root));
  }

  /** Every rank's `array` (all of one length), concatenated in rank order: `[worldSize * array.length]`. */
  async allGather<T extends CollectiveArray>(array: T): Promise<T> {
    const Ctor = array.constructor as new (n: number) => T;
    const out = new Ctor(array.length * this.worldSize);
    await this.run('allGather', (native) => native.allGather(array, out));
    return out;
  }

  /**
   * Every rank's bytes (of any length), in rank order: lengths are gathered first, then the payloads
   * padded to the longest. For small structured results (a JSON header and feature rows).
   */
  async allGatherBytes(bytes: Uint8Array): Promise<Uint8Array[]> {
    const lengths = await this.allGather(Int32Array.of(bytes.length));
    const longest = Math.max(...lengths);
    const padded = new Uint8Array(longest);
    padded.set(bytes);
    const all = await this.allGather(padded);
    return Array.from(lengths, (n, r) => all.slice(r * longest, r * longest + n));
  }

  /** Waits until every rank has reached the barrier. */
  barrier(): Promise<void> {
    return this.run('barrier', (native) => native.barrier());
  }

  /** Host and pid of every rank, in rank order: the processes to look at when a collective fails. */
  get processes(): readonly PeerProcess[] {
    return this.peers;
  }

  /** Every rank's host name and pid (one small all-gather when the group is made). */
  private async gatherPeers(): Promise<void> {
    const own: PeerProcess = { host: hostname(), pid: process.pid };
    const all = await this.allGatherBytes(new TextEncoder().encode(JSON.stringify(own)));
    this.peers = all.map((b) => JSON.parse(new TextDecoder().decode(b)) as PeerProcess);
  }

  /**
   * Which other ranks' processes have exited, polled for up to `waitMs` (a peer killed a moment ago can still be
   * closing its sockets), and which could not be checked (other hosts).
   */
  private findDeadRanks(waitMs = 1000): { dead: number[]; alive: number[]; remote: number[] } {
    const here = hostname();
    const others = this.peers.map((p, r) => ({ ...p, r })).filter((p) => p.r !== this.rank);
    const local = others.filter((p) => p.host === here);
    const remote = others.filter((p) => p.host !== here).map((p) => p.r);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const dead = local.filter((p) => processExited(p.pid)).map((p) => p.r);
      if (dead.length > 0 || Date.now() >= deadline) return { dead, alive: local.map((p) => p.r).filter((r) => !dead.includes(r)), remote };
      sleepSync(100);
    }
  }

  /** What the survivors can say about the other ranks when a collective fails. */
  private diagnose(): { text: string; deadRanks: number[] } {
    if (this.peers.length !== this.worldSize) {
      return { text: 'Another rank probably died or hangs', deadRanks: [] };
    }
    const who = (r: number) =>
      `rank ${r} (pid ${this.peers[r]?.pid}${this.peers[r]?.host === hostname() ? '' : ` on ${this.peers[r]?.host}`})`;
    const list = (rs: readonly number[]) => rs.map(who).join(', ');
    const { dead, alive, remote } = this.findDeadRanks();
    const torchrun = "torchrun's log names a failed worker by its local_rank and pid";
    if (dead.length > 0) {
      return { text: `The process of ${list(dead)} has exited: it died (its own output or ${torchrun} says why)`, deadRanks: dead };
    }
    const parts: string[] = [];
    if (alive.length > 0) {
      parts.push(
        `no rank's process on this host has exited: ${list(alive)} ${alive.length === 1 ? 'is' : 'are'} still running, so ${alive.length === 1 && remote.length === 0 ? 'it' : 'one of them'} probably hangs or is slower than the timeout`,
      );
    }
    if (remote.length > 0)
      parts.push(`${list(remote)} ${remote.length === 1 ? 'runs' : 'run'} on other hosts and could not be checked from here (${torchrun})`);
    return { text: `${parts.join('; ')}`.replace(/^./, (c) => c.toUpperCase()), deadRanks: [] };
  }

  /** Leaves the group (no further collectives). Safe to call twice. */
  destroy(): void {
    this.native?.destroy();
    this.native = undefined;
  }

  private open(collective: string): NativeProcessGroup {
    if (!this.native) {
      throw new DistributedError(`${collective} after destroy(): the process group is closed.`, this.rank, collective);
    }
    return this.native;
  }

  private failure(collective: string, started: number, cause: unknown): DistributedError {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const { text, deadRanks } = this.diagnose();
    return new DistributedError(
      `${collective} failed on rank ${this.rank} of ${this.worldSize} after ${seconds} s (timeout ${this.timeoutMs / 1000} s): ${(cause as Error).message.slice(0, 500)}. ${text}. The last checkpoint is still valid: resume from it.`,
      this.rank,
      collective,
      { cause, deadRanks },
    );
  }

  private async run(collective: string, call: (native: NativeProcessGroup) => Promise<void>): Promise<void> {
    const native = this.open(collective);
    const started = Date.now();
    try {
      await call(native);
    } catch (cause) {
      throw this.failure(collective, started, cause);
    }
  }
}
