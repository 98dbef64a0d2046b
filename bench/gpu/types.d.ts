// Installed by bench/gpu/build.sh (bench/gpu/.build/node_modules), not a dependency of the repo.
declare module '@tensorflow/tfjs-backend-webgpu' {
  export class WebGPUBackend { constructor(device: unknown, adapterInfo?: unknown); }
}
