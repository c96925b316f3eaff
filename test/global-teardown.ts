export default async function globalTeardown(): Promise<void> {
  await globalThis.__LOPPER_SERVICES__?.stop();
}
