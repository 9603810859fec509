/**
 * Starting ffmpeg from a small long-lived shell instead of from this process.
 *
 * Node starts a child with fork + exec. fork copies the page tables of the whole parent, and every page the parent
 * writes afterwards faults once (copy-on-write): the cost grows with the parent's memory. A trainer or a loader holds
 * hundreds of MB to GB, so each ffmpeg start-up costs tens of ms of CPU in Node itself (measured here: 39 ms per
 * decode from a plain Node process, about 3x more than the null-output run; page faults and copies dominate a perf
 * profile). The launcher keeps ONE `/bin/sh` (a few MB) per thread and asks it to start each ffmpeg: the fork then
 * copies the shell, not this process. ffmpeg writes its raw frames and its stderr to files in a private folder
 * (tmpfs `/dev/shm` when present), read back into preallocated buffers when it exits.
 *
 * POSIX only (`/bin/sh`); elsewhere {@link ShellLauncher.available} is false and callers spawn directly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
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
}

interface Job {
  readonly resolve: (r: LaunchResult) => void;
  readonly reject: (e: unknown) => void;
  readonly files: string[];
  readonly errFile: string;
  readonly sinks: readonly Uint8Array[];
  readonly timeoutMs: number;
  /** Read output 0 whole into `collected` (its size is not known beforehand). */
  readonly collect: boolean;
  pid?: number;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
}

/** Quotes one argument for POSIX sh: `'...'` with every `'` written as `'\''`. */
export function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

/**
 * One `/bin/sh` that starts ffmpeg processes on request. Each {@link run} writes one line to the shell:
 * `( ffmpeg args 2>err & echo "p ID $!"; wait $!; echo "d ID $?" ) &`: a subshell per job starts ffmpeg in the
 * background, reports its pid (so a timeout can kill it) and then its exit status. ffmpeg writes its outputs to files
 * named in `args`.
 */
export class ShellLauncher {
  private shell: ChildProcess | undefined;
  private dir: string | undefined;
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private buffer = '';

  /** Process id of the shell, when started. */
  get pid(): number | undefined {
    return this.shell?.pid;
  }

  /** Whether this platform has a POSIX shell to launch from. */
  static get available(): boolean {
    return process.platform !== 'win32' && existsSync('/bin/sh');
  }

  private start(): ChildProcess {
    if (this.shell && this.shell.exitCode === null && !this.shell.killed) return this.shell;
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const dir = mkdtempSync(join(base, 'lss-ffmpeg-'));
    this.dir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const shell = spawn('/bin/sh', ['-s'], { stdio: ['pipe', 'pipe', 'ignore'] });
    // The shell removes its folder when it exits (its stdin closes when this process ends, however it ends).
    shell.stdin!.write(`trap ${shellQuote(`rm -rf ${shellQuote(dir)}`)} EXIT\n`);
    shell.stdout!.setEncoding('utf8');
    shell.stdout!.on('data', (text: string) => this.onLines(text));
    shell.stdin!.on('error', () => undefined);
    shell.on('exit', () => {
      // The shell died (killed, out of memory): fail what it was running; the next run starts another.
      for (const [id, job] of this.jobs) {
        this.jobs.delete(id);
        if (job.timer) clearTimeout(job.timer);
        job.reject(new Error('the ffmpeg launcher shell exited'));
      }
      if (this.shell === shell) this.shell = undefined;
    });
    shell.unref();
    (shell.stdout as unknown as { unref?: () => void }).unref?.();
    (shell.stdin as unknown as { unref?: () => void }).unref?.();
    this.shell = shell;
    return shell;
  }

  private onLines(text: string): void {
    this.buffer += text;
    let nl = this.buffer.indexOf('\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      nl = this.buffer.indexOf('\n');
      const m = /^([pd]) (\d+) (\d+)$/.exec(line);
      if (!m) continue;
      const job = this.jobs.get(Number(m[2]));
      if (!job) continue;
      if (m[1] === 'p') {
        job.pid = Number(m[3]);
        if (job.timedOut) this.kill(job);
      } else {
        this.jobs.delete(Number(m[2]));
        this.finish(job, Number(m[3]));
      }
    }
    this.refresh();
  }

  /** Keeps the process alive while jobs run, lets it exit when idle. */
  private refresh(): void {
    if (!this.shell) return;
    if (this.jobs.size > 0) this.shell.ref();
    else this.shell.unref();
    const out = this.shell.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (this.jobs.size > 0) out.ref?.();
    else out.unref?.();
  }

  private kill(job: Job): void {
    if (job.pid === undefined) return;
    try {
      process.kill(job.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private async finish(job: Job, status: number): Promise<void> {
    if (job.timer) clearTimeout(job.timer);
    try {
      const written = await Promise.all(
        job.sinks.map(async (sink, k) => {
          const file = job.files[k]!;
          try {
            const handle = await open(file, 'r');
            try {
              let total = 0;
              while (total < sink.length) {
                const { bytesRead } = await handle.read(sink, total, sink.length - total, total);
                if (bytesRead === 0) break;
                total += bytesRead;
              }
              return total;
            } finally {
              await handle.close();
            }
          } catch {
            return 0;
          }
        }),
      );
      let collected: Buffer | undefined;
      if (job.collect) {
        try {
          collected = await readFile(job.files[0]!);
        } catch {
          collected = Buffer.alloc(0); // ffmpeg wrote no output (it failed before opening it)
        }
      }
      let stderr = '';
      try {
        stderr = await readFile(job.errFile, 'utf8');
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
      });
    } catch (error) {
      job.reject(error);
    } finally {
      await Promise.all([...job.files, job.errFile].map((f) => rm(f, { force: true })));
    }
  }

  /**
   * Runs `ffmpeg args` through the shell; `args` receives `output(k)`, the file to name as ffmpeg's output k, whose
   * bytes land in `sinks[k]` (at most its length). Resolves when ffmpeg exits; `code` is null when it was killed by
   * the timeout. With `collect`, output 0 has no sink: it is read whole into `collected` (e.g. a probe's framecrc
   * listing, whose size is not known beforehand); pass `sinks` empty.
   */
  run(
    ffmpeg: string,
    args: (k: { output: (k: number) => string }) => readonly string[],
    sinks: readonly Uint8Array[],
    timeoutMs: number,
    collect = false,
  ): Promise<LaunchResult> {
    const shell = this.start();
    const id = this.nextId++;
    const dir = this.dir!;
    const files = collect ? [join(dir, `${id}.0.out`)] : sinks.map((_, k) => join(dir, `${id}.${k}.raw`));
    const errFile = join(dir, `${id}.err`);
    const argv = args({ output: (k) => files[k]! });
    return new Promise<LaunchResult>((resolve, reject) => {
      const job: Job = { resolve, reject, files, errFile, sinks: collect ? [] : sinks, timeoutMs, collect, timedOut: false };
      this.jobs.set(id, job);
      this.refresh();
      if (timeoutMs > 0) {
        job.timer = setTimeout(() => {
          job.timedOut = true;
          this.kill(job);
        }, timeoutMs);
      }
      const command = [shellQuote(ffmpeg), ...argv.map(shellQuote)].join(' ');
      shell.stdin!.write(
        // `jobs` first: a non-interactive dash reaps finished background jobs only when asked, so without it every
        // finished job would stay a zombie process under the shell.
        `jobs >/dev/null 2>&1; ( ${command} </dev/null >/dev/null 2>${shellQuote(errFile)} & echo "p ${id} $!"; wait $!; echo "d ${id} $?" ) &\n`,
      );
    });
  }

  /** Stops the shell (jobs in flight are killed) and removes its folder. */
  close(): void {
    for (const job of this.jobs.values()) this.kill(job);
    this.shell?.kill();
    this.shell = undefined;
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
