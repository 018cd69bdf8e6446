export * from './types';
export * from './typed';
export * from './errors';
export * from './status';
export * from './server';
