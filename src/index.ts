// The library side of the package: everything here works without Node-RED.
export * from './schemas';
export * from './client';
export * from './sbd';
export * from './asic';
export { startSimulator, ServiceRegistry, Faults, SimulatorError } from './simulator';
export type { SimulatorOptions, RunningSimulator, FaultRule, RegistryFixture } from './simulator';
