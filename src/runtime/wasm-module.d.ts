// A .wasm import gives a compiled module in workerd (and under wrangler's CompiledWasm rule).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
