export * from './common';
export * from './format';
export * from './sbd';
export * from './capabilities';
export * from './status';
export * from './webhook';
export * from './page';
export * from './error';
