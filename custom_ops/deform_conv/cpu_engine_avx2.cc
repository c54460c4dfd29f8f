// The CPU engine compiled for the avx2 instruction set (flags chosen by setup.py).
#define EFGRNET_CPU_ENGINE_ISA avx2
#include "cpu_engine_impl.inc"
