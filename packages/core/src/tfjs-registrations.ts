/**
 * Performs tfjs-core 4.22.0's own registrations that the `@tensorflow/tfjs` umbrella performs on import:
 * every gradient (`tf.grad` needs them) and the chained tensor methods (`x.abs()`). Built by tsup into
 * `dist/tfjs-registrations.js` with imports mapped to tfjs-core's public API
 * (build/tfjs-registrations-plugin.ts); `src/gradients.ts` loads that file through the package's
 * private `#tfjs-registrations` import, from source and from dist alike.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
