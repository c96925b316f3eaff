/**
 * scripts/pack-gpu-bench.sh: what scripts/bench-gpu.sh runs on a lent GPU machine, where there is no npm registry and no
 * node_modules. The bundle is run from a folder with no node_modules above it, so every import must come from the bundle.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string;
let bundle: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lopper-pack-'));
  bundle = join(dir, 'bundle');
  const pack = spawnSync('bash', ['scripts/pack-gpu-bench.sh', bundle, '--no-node'], { encoding: 'utf8' });
  if (pack.status !== 0) throw new Error(`pack-gpu-bench.sh failed:\n${pack.stdout}\n${pack.stderr}`);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('bundles the benchmark, the TF.js WASM binaries and Dawn', () => {
  for (const f of ['bench.mjs', 'profile.mjs', 'tfjs-backend-wasm-simd.wasm', 'node_modules/webgpu/index.js', 'node_modules/webgpu/dist/linux-x64/dawn.node']) {
    expect(existsSync(join(bundle, f))).toBe(true);
  }
  expect(existsSync(join(dir, 'node_modules'))).toBe(false);
});

it('trains and infers on wasm with Lopper kernels, with no node_modules in reach', () => {
  const run = spawnSync(process.execPath, [join(bundle, 'bench.mjs'), '--backends=wasm', '--steps=2', '--rounds=1', '--torch-device=none'], {
    cwd: dir, encoding: 'utf8', timeout: 180_000,
  });
  expect(run.stderr).not.toMatch(/Cannot find module/);
  expect(run.status).toBe(0);
  expect(run.stdout).not.toMatch(/wasm: unavailable/);
  for (const model of ['lenet5', 'mlp']) {
    const row = run.stdout.match(new RegExp(`\\| wasm\\s+\\| ${model}\\s+\\| (\\d+)\\s+\\|[^|]*\\|[^|]*\\| (\\d+)`));
    expect(row).not.toBeNull();
    expect(Number(row![1])).toBeGreaterThan(0); // train img/s
    expect(Number(row![2])).toBeGreaterThan(0); // infer img/s
  }
}, 180_000);

it('profiles a training step from the bundle (bench-gpu.sh prints one on WebGPU)', () => {
  const run = spawnSync(process.execPath, [join(bundle, 'profile.mjs'), '--backend=wasm', '--model=lenet5', '--steps=1', '--batch=16'], {
    cwd: dir, encoding: 'utf8', timeout: 120_000,
  });
  expect(run.stderr).not.toMatch(/Cannot find module/);
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^lenet5 on wasm, batch 16: [\d.]+ ms\/step/m);
  expect(run.stdout).toMatch(/^FusedConv2D\s+[\d.]+ ms\/step/m);
}, 120_000);

it('loads Dawn from the bundle and finds an adapter (Mesa llvmpipe over surfaceless EGL here)', () => {
  const probe = spawnSync(process.execPath, ['--input-type=module', '-e', `
    const { create } = await import('webgpu');
    const a = await create(['backend=opengles']).requestAdapter({ featureLevel: 'compatibility' });
    console.log(a ? 'adapter ' + a.info.description : 'no adapter');
    process.exit(0);`], { cwd: bundle, encoding: 'utf8', timeout: 60_000, env: { ...process.env, EGL_PLATFORM: 'surfaceless' } });
  expect(probe.stderr).not.toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);
  expect(probe.stdout).toMatch(/^adapter /m);
});
