"""A CUDA-on-CPU emulator: compiles gpugrad's kernels with g++ and runs them with real barriers and shuffles."""
