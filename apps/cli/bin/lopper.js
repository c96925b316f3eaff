#!/usr/bin/env node
// The `lopper` binary: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
