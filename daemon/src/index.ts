export * from './audit/index.ts';
export * from './config/index.ts';
export * from './admin/index.ts';
export * from './gateway/index.ts';
export * from './node/index.ts';
export * from './observability/index.ts';
