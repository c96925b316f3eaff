// Jest loads global setup outside its module mapper: hand over to the TypeScript through tsx.
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const m = await tsImport('./services-setup.ts', import.meta.url);
  await m.setup();
}
