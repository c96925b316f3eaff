// Jest's node environment, with Node's own typed-array constructors in the test's context.
// tfjs-node's addon makes typed arrays in Node's realm; tfjs-core, evaluated in the test's vm context, checks
// `x instanceof Float32Array` against that context's constructors, which such arrays fail ("Unsupported TypedArray
// subtype: Float32Array" when a model is serialised). A worker process has one realm and never meets this. With Node's
// constructors in the context, arrays from both sides pass.
import { TestEnvironment } from 'jest-environment-node';

const TYPED_ARRAYS = ['Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint8ClampedArray', 'Uint16Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array'];

export default class NativeRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}
