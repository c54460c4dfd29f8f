// The CPU engine compiled for the baseline instruction set (flags chosen by setup.py).
#define EFGRNET_CPU_ENGINE_ISA baseline
#include "cpu_engine_impl.inc"
