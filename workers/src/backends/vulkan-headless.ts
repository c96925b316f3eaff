/**
 * Vulkan on a headless NVIDIA machine. The driver's Vulkan ICD manifest (nvidia_icd.json, which the NVIDIA container
 * toolkit mounts too) names libGLX_nvidia.so.0; without an X or Wayland display that library returns no vkCreateInstance
 * (the loader logs "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'") and Dawn finds no adapter. The same
 * driver's libEGL_nvidia.so.0 serves Vulkan headless. Measured on a lent NVIDIA H200 (driver 580.159.04, no display):
 * no adapter with the stock manifest, an "nvidia-h200" adapter through a manifest naming the EGL library.
 *
 * `headlessNvidiaIcd` finds that case; `useHeadlessNvidiaVulkan` writes such a manifest and points the Vulkan loader at it
 * (VK_DRIVER_FILES, and VK_ICD_FILENAMES for loaders before 1.3.207). Process environment changes reach the loader: Node
 * sets them in the real environment, and Dawn creates its Vulkan instance later, when asked for an adapter.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where the Vulkan loader looks for driver manifests (system locations), and where NVIDIA's container runtime puts one. */
export const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d', '/usr/local/nvidia/share/vulkan/icd.d'];
/** Library directories searched for libEGL_nvidia.so.0 after LD_LIBRARY_PATH's. */
export const LIB_DIRS = ['/usr/local/nvidia/lib64', '/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib'];

export interface HeadlessIcd {
  /** The driver's own manifest, which names the GLX library. */
  manifest: string;
  /** Absolute path of the driver's EGL library. */
  eglLibrary: string;
  /** The manifest's api_version, carried over. */
  apiVersion: string;
}

/**
 * The headless case, or null: no display, no loader setting of the caller's own (VK_DRIVER_FILES / VK_ICD_FILENAMES win),
 * an NVIDIA manifest that names libGLX_nvidia, and libEGL_nvidia.so.0 present. `icdDirs` and `libDirs` are for tests.
 */
export function headlessNvidiaIcd(env: NodeJS.ProcessEnv = process.env, icdDirs = ICD_DIRS, libDirs = LIB_DIRS): HeadlessIcd | null {
  if (env.DISPLAY || env.WAYLAND_DISPLAY || env.VK_DRIVER_FILES || env.VK_ICD_FILENAMES) return null;
  for (const dir of icdDirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => /nvidia.*\.json$/i.test(n)).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      const manifest = join(dir, name);
      let icd: { ICD?: { library_path?: unknown; api_version?: unknown } };
      try {
        icd = JSON.parse(readFileSync(manifest, 'utf8'));
      } catch {
        continue;
      }
      if (typeof icd.ICD?.library_path !== 'string' || !/libGLX_nvidia\.so/.test(icd.ICD.library_path)) continue;
      const dirs = [...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...libDirs];
      const eglLibrary = dirs.map((d) => join(d, 'libEGL_nvidia.so.0')).find((p) => existsSync(p));
      if (!eglLibrary) return null;
      return { manifest, eglLibrary, apiVersion: typeof icd.ICD.api_version === 'string' ? icd.ICD.api_version : '1.3.0' };
    }
  }
  return null;
}

/**
 * In the headless NVIDIA case, writes a manifest naming the EGL library (in the temporary directory) and points the Vulkan
 * loader at it; returns the manifest's path, or null when nothing was changed.
 */
export function useHeadlessNvidiaVulkan(env: NodeJS.ProcessEnv = process.env, found = headlessNvidiaIcd(env)): string | null {
  if (!found) return null;
  const path = join(tmpdir(), `lopper-nvidia-egl-icd-${userInfo().uid}.json`);
  writeFileSync(path, `${JSON.stringify({ file_format_version: '1.0.1', ICD: { library_path: found.eglLibrary, api_version: found.apiVersion } }, null, 2)}\n`);
  env.VK_DRIVER_FILES = path;
  env.VK_ICD_FILENAMES = path;
  return path;
}
