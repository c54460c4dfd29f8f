// The CPU engine compiled for the avx512 instruction set (flags chosen by setup.py).
#define EFGRNET_CPU_ENGINE_ISA avx512
#include "cpu_engine_impl.inc"
