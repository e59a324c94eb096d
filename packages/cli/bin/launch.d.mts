// Types for launch.mjs (plain JavaScript so that the launcher needs no type stripping).
export interface BundleFiles {
  bundle: string;
  inputs: string;
  builder: string;
}
export function BUNDLE_FILES(root: string): BundleFiles;
export function recordBundleInputs(files: BundleFiles, inputs: readonly string[]): void;
export function bundleIsFresh(files: BundleFiles): boolean;
export function loadCli(root?: string): Promise<{
  main: typeof import('../src/main.ts').main;
  processIo: typeof import('../src/main.ts').processIo;
  fromBundle: boolean;
}>;
