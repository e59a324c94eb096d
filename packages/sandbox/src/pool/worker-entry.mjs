// The file a pool worker thread starts from. Plain JavaScript on purpose: Node strips the types
// of a .ts file with a WebAssembly transformer that costs each thread ~15 MiB and tens of ms to
// load, and a file loaded from the compile cache needs no stripping at all. So this file turns
// on the compile cache the main thread uses (workers do not inherit it) before any .ts is
// loaded, then loads the worker proper, then writes what this thread compiled to the cache
// (a worker is usually terminated, and terminated threads do not flush it).
import module from 'node:module';
import { workerData } from 'node:worker_threads';

const cacheDir = workerData?.compileCacheDir;
if (typeof cacheDir === 'string') module.enableCompileCache(cacheDir);
await import('./pool-worker.ts');
if (typeof cacheDir === 'string') module.flushCompileCache();
