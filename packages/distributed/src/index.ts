/**
 * @lss/distributed — data-parallel training and sharded evaluation on PyTorch's distributed runtime
 * (c10d process groups over Gloo, rendezvous from torchrun's environment).
 */
export {
  type CollectiveArray,
  DEFAULT_BUCKET_BYTES,
  DistributedError,
  type PeerProcess,
  ProcessGroup,
  type ProcessGroupOptions,
  type ReduceOp,
} from './process-group.js';
export { type InitMethod, parseInitMethod, type Rendezvous, rendezvousFromEnv } from './rendezvous.js';
export { DistributedSampler, type DistributedSamplerOptions } from './sampler.js';
export { shardRange } from './shard.js';
