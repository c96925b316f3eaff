// Jest in ESM mode (NestJS 12 is ESM-only) with @swc/jest. Unit tests sit beside the source (*.spec.ts);
// integration and end-to-end tests live in test/ and run against the real Postgres and Temporal dev server
// that test/global-setup.ts starts.
// Mesa reads EGL_PLATFORM from the real environment (a test's process.env is a copy): the WebGPU test runs Dawn
// on llvmpipe through surfaceless EGL.
process.env.EGL_PLATFORM ??= 'surfaceless';
// The same for libtensorflow (tfjs-node, where scripts/install-tfjs-node.sh installed it): one thread and no INFO lines,
// as a worker process sets them before loading it (workers/src/backends/index.ts).
process.env.TF_NUM_INTRAOP_THREADS ??= '1';
process.env.TF_NUM_INTEROP_THREADS ??= '1';
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
const swc = ['@swc/jest', {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: false },
    target: 'es2022',
  },
  module: { type: 'es6' },
}];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFiles: ['<rootDir>/test/quiet-tfjs-banner.setup.mjs'],
};
export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,workers,workflows,prisma,deploy}/**/*.spec.ts'] },
    // The WASM kernel specs once more on the kernels' plain SIMD128 build (the unit run takes the fused multiply-add build).
    { ...common, displayName: 'unit-simd128', testMatch: ['<rootDir>/workers/src/backends/wasm-{kernels,moments,heap-views}.spec.ts'], setupFiles: ['<rootDir>/test/quiet-tfjs-banner.setup.mjs', '<rootDir>/test/simd128.setup.mjs'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.test.ts'], globalSetup: '<rootDir>/test/global-setup.mjs', globalTeardown: '<rootDir>/test/global-teardown.mjs' },
  ],
  testTimeout: 120000,
  // Integration suites share one Temporal server and task queues: run suites one at a time.
  maxWorkers: 1,
};
