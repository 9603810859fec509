/**
 * Where the ranks of a job meet: torchrun's environment (`env://`), an explicit `tcp://host:port`, or a
 * shared file (`file:///path`), as `torch.distributed.init_process_group(init_method=...)` accepts.
 */
import { ConfigError } from '@lss/core';

/** One process's place in the job, and how the ranks rendezvous. */
export interface Rendezvous {
  /** This process's global rank in [0, worldSize). */
  readonly rank: number;
  readonly worldSize: number;
  /** Rank on this machine (torchrun's LOCAL_RANK); picks the GPU when there are several. */
  readonly localRank: number;
  /** `tcp://host:port` or `file:///path`. */
  readonly initMethod: string;
}

function intFrom(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(
      `${name} is not set; expected torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Launch with torchrun --no_python ... or pass --dist-url with RANK and WORLD_SIZE.`,
    );
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${name}=${JSON.stringify(raw.slice(0, 40))} is not a non-negative integer.`);
  }
  return value;
}

/**
 * Reads torchrun's environment. Returns `undefined` for a single-process run (no WORLD_SIZE, or 1, and no
 * `distUrl`). `distUrl` (`tcp://host:port` or `file:///path`) replaces MASTER_ADDR/MASTER_PORT.
 *
 * @throws ConfigError when a variable is missing or malformed, or the rank is not below the world size.
 */
export function rendezvousFromEnv(env: NodeJS.ProcessEnv = process.env, distUrl?: string): Rendezvous | undefined {
  const worldSize = intFrom(env, 'WORLD_SIZE', 1);
  if (worldSize <= 1 && distUrl === undefined) return undefined;
  const rank = intFrom(env, 'RANK');
  if (rank >= worldSize) throw new ConfigError(`RANK=${rank} must be below WORLD_SIZE=${worldSize}.`);
  const localRank = intFrom(env, 'LOCAL_RANK', 0);
  let initMethod = distUrl;
  if (initMethod === undefined || initMethod === 'env://') {
    const addr = env.MASTER_ADDR;
    const port = intFrom(env, 'MASTER_PORT');
    if (!addr) throw new ConfigError('MASTER_ADDR is not set; torchrun sets it, or pass --dist-url tcp://host:port.');
    initMethod = `tcp://${addr}:${port}`;
  }
  parseInitMethod(initMethod);
  return { rank, worldSize, localRank, initMethod };
}

/** A parsed init method. */
export type InitMethod =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'file'; readonly path: string };

/** Parses `tcp://host:port` or `file:///abs/path`. @throws ConfigError on anything else. */
export function parseInitMethod(url: string): InitMethod {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(url);
  if (tcp?.[1] && tcp[2]) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new ConfigError(`Port ${port} in ${url} is out of range 1..65535.`);
    return { kind: 'tcp', host: tcp[1].replace(/^\[|\]$/g, ''), port };
  }
  if (url.startsWith('file://') && url.length > 'file://'.length) {
    return { kind: 'file', path: decodeURIComponent(url.slice('file://'.length)) };
  }
  throw new ConfigError(
    `Unsupported init method ${JSON.stringify(url.slice(0, 200))}; expected env:// (torchrun), tcp://host:port or file:///absolute/path.`,
  );
}
