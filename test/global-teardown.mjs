import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const m = await tsImport('./services-setup.ts', import.meta.url);
  await m.teardown();
}
