/**
 * Test setup of @lss/backend-torch (self-contained: this package depends on tfjs only): the cpu backend
 * as the reference, every tfjs gradient, and the torch backend selected.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { registerTorchBackend } from '../src/index.js';

registerTorchBackend({ threads: Number(process.env.LSS_TORCH_THREADS ?? 2) });
await tf.setBackend('torch');
