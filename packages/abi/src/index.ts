export * from './capabilities.ts';
export * from './host-functions.ts';
export * from './wasi.ts';
export * from './imports.ts';
