/**
 * Starting ffmpeg from a small long-lived shell instead of from this process.
 *
 * Node starts a child with fork + exec. fork copies the page tables of the whole parent, and every page the parent
 * writes afterwards faults once (copy-on-write): the cost grows with the parent's memory. A trainer or a loader holds
 * hundreds of MB to GB, so each ffmpeg start-up costs tens of ms of CPU in Node itself (measured here: 39 ms per
 * decode from a plain Node process, about 3x more than the null-output run; page faults and copies dominate a perf
 * profile). The launcher keeps small `/bin/sh` processes (a few MB each, one per decode in flight, reused) and asks
 * one to start each ffmpeg: the shell runs it in the foreground, which dash does with vfork + exec (no copy of any
 * page table), then reports the exit status. ffmpeg writes its raw frames and its stderr to files in the shell's
 * private folder (tmpfs `/dev/shm` when present), read back (synchronously: a few hundred microseconds on tmpfs,
 * cheaper than a round trip through libuv's thread pool per file) into preallocated buffers when it exits.
 *
 * Measured on this 2-core VM (development figures, loaded machine; see the package README): each fork costs
 * milliseconds here (page-table updates trap), so the former design, one shell starting every job as a background
 * subshell (`( ffmpeg & wait ) &`: two full forks per job), cost ~5 ms more CPU and one more wake-up per decode.
 *
 * POSIX only (`/bin/sh`); elsewhere {@link ShellLauncher.available} is false and callers spawn directly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one launched ffmpeg left. */
export interface LaunchResult {
  readonly code: number | null;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Bytes read into each sink. */
  readonly written: number[];
  /** With `collect`: the whole of output 0 (empty when ffmpeg wrote none). */
  readonly collected?: Buffer;
  /**
   * With `progress`: true when the result was read at ffmpeg's final progress report, before the process exited
   * (`code` is then 0; see {@link ShellLauncher.run}).
   */
  readonly beforeExit?: boolean;
}

interface Job {
  readonly id: number;
  readonly resolve: (r: LaunchResult) => void;
  readonly reject: (e: unknown) => void;
  readonly files: string[];
  readonly errFile: string;
  readonly sinks: readonly Uint8Array[];
  /** Read output 0 whole into `collected` (its size is not known beforehand). */
  readonly collect: boolean;
  /** ffmpeg writes `-progress` to the shell's stdout: resolve at its final report (`progress=end`). */
  readonly progress: boolean;
  readonly timeoutMs: number;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  /** Resolved (at `progress=end`); the shell is still busy until ffmpeg has exited. */
  settled: boolean;
}

/** One shell that runs one ffmpeg at a time, in the foreground. */
interface Slot {
  readonly shell: ChildProcess;
  readonly dir: string;
  job: Job | undefined;
  buffer: string;
  dead: boolean;
}

/** Quotes one argument for POSIX sh: `'...'` with every `'` written as `'\''`. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/**
 * This thread's buffer that outputs are read into before being copied to their sink, grown to the largest output.
 * On a paravirtualised VM the kernel's first access to each page of a user buffer costs microseconds on top of the
 * page's first fault (measured here: read(2) of a 1.2 MB tmpfs file into a new, already written buffer 3.6-3.9 ms,
 * into a buffer read into before 0.1-0.2 ms; a JS copy into the new buffer 0.05 ms). Reading into one reused buffer
 * pays that once per thread instead of once per decode.
 */
let scratch = new Uint8Array(0);
/** Outputs larger than this are read straight into their sink (the scratch buffer stays small). */
const SCRATCH_MAX_BYTES = 64 * 1024 * 1024;
function scratchFor(sink: Uint8Array): Uint8Array {
  const bytes = sink.length;
  if (bytes > SCRATCH_MAX_BYTES) return sink;
  if (scratch.length < bytes) scratch = new Uint8Array(bytes);
  return scratch.length === bytes ? scratch : scratch.subarray(0, bytes);
}

/** Folders of live shells, removed when this process exits (a killed shell cannot run its own trap). */
const liveDirs = new Set<string>();
let exitHook = false;

/**
 * Small `/bin/sh` processes that start ffmpeg on request. Each {@link run} takes an idle shell (or starts one) and
 * writes it one line: `ffmpeg args </dev/null >/dev/null 2>err; echo "d ID $?"`. The shell runs ffmpeg in the
 * foreground (vfork + exec: nothing of this process or the shell is copied), waits for it, which also reaps it, and
 * reports its exit status. A timeout kills the shell's whole process group (the shell and its ffmpeg); the next
 * job starts another shell. ffmpeg writes its outputs to files named in `args`.
 */
export class ShellLauncher {
  private readonly slots: Slot[] = [];
  private nextId = 0;

  /** Process id of the first live shell, when one is started (with one job at a time, the one that runs it). */
  get pid(): number | undefined {
    return this.slots.find((s) => !s.dead)?.shell.pid;
  }

  /** Process ids of the live shells (one per decode that was in flight at once, kept for reuse). */
  get pids(): number[] {
    return this.slots.filter((s) => !s.dead).flatMap((s) => (s.shell.pid === undefined ? [] : [s.shell.pid]));
  }

  /** Whether this platform has a POSIX shell to launch from. */
  static get available(): boolean {
    return process.platform !== 'win32' && existsSync('/bin/sh');
  }

  private startSlot(): Slot {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dir = mkdtempSync(join(base, 'lss-ffmpeg-'));
    liveDirs.add(dir);
    if (!exitHook) {
      exitHook = true;
      process.once('exit', () => {
        for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
      });
    }
    // Its own process group, so a timeout can kill the shell together with the ffmpeg it runs in the foreground.
    const shell = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    const slot: Slot = { shell, dir, job: undefined, buffer: '', dead: false };
    // The shell removes its folder when it exits normally (its stdin closes when this process ends, however it ends).
    shell.stdin!.write(`trap ${shellQuote(`rm -rf ${shellQuote(dir)}`)} EXIT\n`);
    shell.stdout!.setEncoding('utf8');
    shell.stdout!.on('data', (text: string) => this.onLines(slot, text));
    shell.stdin!.on('error', () => undefined);
    shell.on('error', () => undefined);
    shell.on('exit', () => {
      slot.dead = true;
      const index = this.slots.indexOf(slot);
      if (index >= 0) this.slots.splice(index, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job && !job.settled) {
        if (job.timer) clearTimeout(job.timer);
        // Killed by the timeout: report what ffmpeg wrote before; killed from outside: fail the job.
        if (job.timedOut) this.finish(job, null);
        else {
          this.cleanup(job);
          job.reject(new Error('the ffmpeg launcher shell exited'));
        }
      }
      rmSync(dir, { recursive: true, force: true });
      liveDirs.delete(dir);
    });
    this.unref(slot);
    this.slots.push(slot);
    return slot;
  }

  private ref(slot: Slot): void {
    slot.shell.ref();
    (slot.shell.stdout as unknown as { ref?: () => void }).ref?.();
  }

  /** An idle shell must not keep this process alive. */
  private unref(slot: Slot): void {
    slot.shell.unref();
    (slot.shell.stdout as unknown as { unref?: () => void }).unref?.();
    (slot.shell.stdin as unknown as { unref?: () => void }).unref?.();
  }

  private onLines(slot: Slot, text: string): void {
    slot.buffer += text;
    let nl = slot.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = slot.buffer.slice(0, nl);
      slot.buffer = slot.buffer.slice(nl + 1);
      nl = slot.buffer.indexOf('\n');
      const job = slot.job;
      if (line === 'progress=end' && job?.progress && !job.settled && !job.timedOut) {
        // ffmpeg has written and flushed every output (av_write_trailer) and reports the end of its work; what is left
        // is its exit (freeing a fresh address space: milliseconds on a VM). Resolve now; the shell stays busy.
        if (job.timer) clearTimeout(job.timer);
        this.finish(job, 0, true);
        // An ffmpeg that never finishes exiting would hold its shell forever: kill it after the job's timeout.
        if (job.timeoutMs > 0) job.timer = setTimeout(() => this.killGroup(slot), job.timeoutMs);
        continue;
      }
      const m = /^d (\d+) (\d+)$/.exec(line);
      if (!m || !job || Number(m[1]) !== job.id) continue;
      slot.job = undefined;
      this.unref(slot);
      if (job.timer) clearTimeout(job.timer);
      if (!job.settled) this.finish(job, Number(m[2]));
    }
  }

  private cleanup(job: Job): void {
    for (const f of [...job.files, job.errFile]) {
      try {
        unlinkSync(f);
      } catch {
        // not written, or the folder is gone with its shell
      }
    }
  }

  /**
   * Reads what ffmpeg left (synchronously: small files on tmpfs) and resolves the job. `status` null: timed out;
   * `beforeExit`: read at ffmpeg's final progress report, the process still exiting.
   */
  private finish(job: Job, status: number | null, beforeExit = false): void {
    job.settled = true;
    try {
      const written = job.sinks.map((sink, k) => {
        let fd: number;
        try {
          fd = openSync(job.files[k]!, 'r');
        } catch {
          return 0; // ffmpeg wrote no output (it failed before opening it)
        }
        try {
          // read(2) into this thread's long-lived scratch buffer, then one copy into the sink (see `scratchFor`).
          const scratch = scratchFor(sink);
          let total = 0;
          while (total < sink.length) {
            const n = readSync(fd, scratch, total, sink.length - total, total);
            if (n === 0) break;
            total += n;
          }
          if (scratch !== sink) sink.set(total === scratch.length ? scratch : scratch.subarray(0, total));
          return total;
        } finally {
          closeSync(fd);
        }
      });
      let collected: Buffer | undefined;
      if (job.collect) {
        try {
          collected = readFileSync(job.files[0]!);
        } catch {
          collected = Buffer.alloc(0);
        }
      }
      let stderr = '';
      try {
        stderr = readFileSync(job.errFile, 'utf8');
        if (stderr.length > 64 * 1024) stderr = stderr.slice(stderr.length - 64 * 1024);
      } catch {
        // no stderr file: ffmpeg could not be started; the status says so
      }
      // A shell reports a job killed by signal N as 128 + N.
      job.resolve({
        code: job.timedOut ? null : status,
        stderr,
        timedOut: job.timedOut,
        written,
        ...(collected ? { collected } : {}),
        ...(beforeExit ? { beforeExit } : {}),
      });
    } catch (error) {
      job.reject(error);
    } finally {
      this.cleanup(job);
    }
  }

  /**
   * Runs `ffmpeg args` through an idle shell; `args` receives `output(k)`, the file to name as ffmpeg's output k,
   * whose bytes land in `sinks[k]` (at most its length). Resolves when ffmpeg exits; `code` is null when it was
   * killed by the timeout. With `collect`, output 0 has no sink: it is read whole into `collected` (e.g. a probe's
   * framecrc listing, whose size is not known beforehand); pass `sinks` empty.
   *
   * With `progress`, `args` must include `-progress pipe:1` (ffmpeg's stdout is the shell's): the job resolves at
   * ffmpeg's final report (`progress=end`, written after every output was flushed by `av_write_trailer`), with
   * `code` 0 and `beforeExit`, instead of when the process has exited; the shell takes no other job until then.
   * Errors ffmpeg logged while decoding are in `stderr` by then (ffmpeg's stderr is unbuffered); an exit status
   * decided after the report (ffmpeg's decode error-rate check, exit 69) is not seen, its error lines are.
   */
  run(
    ffmpeg: string,
    args: (k: { output: (k: number) => string }) => readonly string[],
    sinks: readonly Uint8Array[],
    timeoutMs: number,
    collect = false,
    progress = false,
  ): Promise<LaunchResult> {
    const slot = this.slots.find((s) => !s.dead && !s.job) ?? this.startSlot();
    const id = this.nextId++;
    const files = collect ? [join(slot.dir, `${id}.0.out`)] : sinks.map((_, k) => join(slot.dir, `${id}.${k}.raw`));
    const errFile = join(slot.dir, `${id}.err`);
    const argv = args({ output: (k) => files[k]! });
    return new Promise<LaunchResult>((resolve, reject) => {
      const job: Job = {
        id,
        resolve,
        reject,
        files,
        errFile,
        sinks: collect ? [] : sinks,
        collect,
        progress,
        timeoutMs,
        timedOut: false,
        settled: false,
      };
      slot.job = job;
      this.ref(slot);
      if (timeoutMs > 0) {
        job.timer = setTimeout(() => {
          job.timedOut = true;
          this.killGroup(slot);
        }, timeoutMs);
      }
      const command = [shellQuote(ffmpeg), ...argv.map(shellQuote)].join(' ');
      const stdout = progress ? '' : ' >/dev/null';
      slot.shell.stdin!.write(`${command} </dev/null${stdout} 2>${shellQuote(errFile)}; echo "d ${id} $?"\n`);
      // Touch the sinks while ffmpeg starts: a large new buffer is fresh zero pages whose first writes fault (~25 µs
      // each on a VM); faulted here, on this otherwise idle thread, they are off the path between ffmpeg's end and
      // the result.
      for (const sink of job.sinks) sink.fill(0);
    });
  }

  private killGroup(slot: Slot): void {
    if (slot.shell.pid === undefined) return;
    try {
      process.kill(-slot.shell.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Stops the shells (jobs in flight are killed) and removes their folders. */
  close(): void {
    for (const slot of [...this.slots]) {
      slot.dead = true;
      this.killGroup(slot);
      rmSync(slot.dir, { recursive: true, force: true });
      liveDirs.delete(slot.dir);
    }
    this.slots.length = 0;
  }
}
