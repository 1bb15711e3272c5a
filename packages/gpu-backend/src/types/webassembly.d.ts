/**
 * The part of the WebAssembly JavaScript API the server uses. Node 20 has all of it, but neither
 * the ES library nor @types/node 20 declares it (only the DOM library does, which the server does
 * not load).
 */
declare namespace WebAssembly {
  // Declared as the DOM library declares it: a class with a static method.
  // eslint-disable-next-line @typescript-eslint/no-extraneous-class
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
    static exports(module: Module): Array<{ name: string; kind: string }>;
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
}
