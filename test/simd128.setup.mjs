// Setup of jest's `unit-simd128` project: the WASM kernel specs run again on the plain SIMD128 build of Lopper's kernels.
process.env.LOPPER_WASM_FMA = 'off';
