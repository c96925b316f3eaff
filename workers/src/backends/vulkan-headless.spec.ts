import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headlessNvidiaIcd, useHeadlessNvidiaVulkan } from './vulkan-headless.js';

describe('Vulkan on a headless NVIDIA machine', () => {
  let root: string, icdDir: string, libDir: string;
  const glxManifest = { file_format_version: '1.0.1', ICD: { library_path: 'libGLX_nvidia.so.0', api_version: '1.4.312' } };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'lopper-vk-'));
    icdDir = join(root, 'icd.d');
    libDir = join(root, 'lib64');
    mkdirSync(icdDir);
    mkdirSync(libDir);
    writeFileSync(join(icdDir, 'nvidia_icd.json'), JSON.stringify(glxManifest));
    writeFileSync(join(libDir, 'libEGL_nvidia.so.0'), '');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds the GLX-only manifest and the driver\'s EGL library (LD_LIBRARY_PATH first)', () => {
    expect(headlessNvidiaIcd({ LD_LIBRARY_PATH: libDir }, [join(root, 'missing'), icdDir], [])).toEqual({
      manifest: join(icdDir, 'nvidia_icd.json'), eglLibrary: join(libDir, 'libEGL_nvidia.so.0'), apiVersion: '1.4.312',
    });
    expect(headlessNvidiaIcd({}, [icdDir], [libDir])?.eglLibrary).toBe(join(libDir, 'libEGL_nvidia.so.0'));
  });

  it.each([
    ['a display', { DISPLAY: ':0' }],
    ['a Wayland display', { WAYLAND_DISPLAY: 'wayland-0' }],
    ['the caller\'s own VK_DRIVER_FILES', { VK_DRIVER_FILES: '/x.json' }],
    ['the caller\'s own VK_ICD_FILENAMES', { VK_ICD_FILENAMES: '/x.json' }],
  ])('changes nothing with %s', (_, env) => {
    expect(headlessNvidiaIcd({ ...env, LD_LIBRARY_PATH: libDir }, [icdDir], [])).toBeNull();
  });

  it('changes nothing without the EGL library, for a manifest that already names EGL, or for another vendor', () => {
    expect(headlessNvidiaIcd({}, [icdDir], [join(root, 'nowhere')])).toBeNull();
    writeFileSync(join(icdDir, 'nvidia_icd.json'), JSON.stringify({ ICD: { library_path: 'libEGL_nvidia.so.0' } }));
    expect(headlessNvidiaIcd({}, [icdDir], [libDir])).toBeNull();
    rmSync(join(icdDir, 'nvidia_icd.json'));
    writeFileSync(join(icdDir, 'lvp_icd.x86_64.json'), JSON.stringify({ ICD: { library_path: 'libvulkan_lvp.so' } }));
    writeFileSync(join(icdDir, 'nvidia_broken.json'), '{ not json');
    expect(headlessNvidiaIcd({}, [icdDir], [libDir])).toBeNull();
  });

  it('writes a manifest naming the EGL library and points the loader at it', () => {
    const env: NodeJS.ProcessEnv = {};
    const path = useHeadlessNvidiaVulkan(env, headlessNvidiaIcd(env, [icdDir], [libDir]));
    expect(path).not.toBeNull();
    expect(env.VK_DRIVER_FILES).toBe(path);
    expect(env.VK_ICD_FILENAMES).toBe(path);
    expect(JSON.parse(readFileSync(path!, 'utf8'))).toEqual({ file_format_version: '1.0.1', ICD: { library_path: join(libDir, 'libEGL_nvidia.so.0'), api_version: '1.4.312' } });
    rmSync(path!);
    const untouched: NodeJS.ProcessEnv = { DISPLAY: ':1' };
    expect(useHeadlessNvidiaVulkan(untouched, headlessNvidiaIcd(untouched, [icdDir], [libDir]))).toBeNull();
    expect(untouched).toEqual({ DISPLAY: ':1' });
  });
});
