/** The demo's test-view loading (`@lss/eval` `ViewLoader`). */
import { ffmpegViewLoader, type HostViews, type ViewLoader } from '@lss/eval';

/**
 * A view loader that decodes each video's test views once per process and hands the same pixels to every row
 * after that (the world's 144 videos at 4 x 32 x 32 x 3 float32 are ~7 MB). Without it every row and split
 * decodes every video again with ffmpeg. A failed load is remembered too
 * (the same `DataError` each time, so skip-and-report is unchanged).
 */
export function memoizedViewLoader(inner: ViewLoader = ffmpegViewLoader()): ViewLoader & { readonly decoded: () => number } {
  const cache = new Map<string, Promise<HostViews>>();
  const load = (sample: Parameters<ViewLoader>[0], views: Parameters<ViewLoader>[1]): Promise<HostViews> => {
    const key = `${sample.path}\n${JSON.stringify(views)}`;
    let hit = cache.get(key);
    if (!hit) {
      hit = inner(sample, views);
      cache.set(key, hit);
    }
    return hit;
  };
  return Object.assign(load, { decoded: () => cache.size });
}
