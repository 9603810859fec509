// Core's own test setup (it cannot use @lss/testing, which depends on core): cpu backend + gradients.
import { initBackend } from '../src/backend.js';

await initBackend('cpu');
