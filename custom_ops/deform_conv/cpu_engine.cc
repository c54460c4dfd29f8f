// Scratch sizing and run-time choice of the CPU engine variant.
#include "cpu_engine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace efgrnet {
namespace deform_conv {

// Each variant lives in its own namespace, defined by cpu_engine_<isa>.cc.
#define EFGRNET_DECLARE_ENGINE(isa)                                                  \
  namespace isa {                                                                    \
  void Forward(const DeformConvGeometry&, const ForwardTensors&, WorkerPool&);       \
  void Backward(const DeformConvGeometry&, const BackwardTensors&, WorkerPool&);     \
  void Im2colBfloat16(const DeformConvGeometry&, const ForwardTensors&,             \
                      const uint16_t*, uint16_t*, WorkerPool&);                      \
  void Col2imBfloat16(const DeformConvGeometry&, const BackwardTensors&,             \
                      const uint16_t*, const uint16_t*, WorkerPool&);                \
  }
EFGRNET_DECLARE_ENGINE(baseline)
#if defined(__x86_64__)
EFGRNET_DECLARE_ENGINE(avx2)
EFGRNET_DECLARE_ENGINE(avx512)
#endif
#undef EFGRNET_DECLARE_ENGINE

// Columns plus one zero row of `channels` floats that stands in for out-of-image corners.
int64_t ForwardScratchFloats(const DeformConvGeometry& geometry) {
  return BlockRows(geometry, kBlockBytes) * geometry.column_width() + geometry.channels;
}

// The zero row alone: the bfloat16 im2col and col2im use whole column matrices of the caller.
int64_t ZeroRowFloats(const DeformConvGeometry& geometry) { return geometry.channels; }

// Columns and grad_columns plus the zero row.
int64_t BackwardScratchFloats(const DeformConvGeometry& geometry) {
  return 2 * BlockRows(geometry, kBlockBytes) * geometry.column_width() + geometry.channels;
}

namespace {

// The variants the running CPU supports, fastest first.
std::vector<CpuEngine> SupportedEngines() {
  std::vector<CpuEngine> engines;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")) {
    engines.push_back({"avx512", &avx512::Forward, &avx512::Backward, &avx512::Im2colBfloat16,
                       &avx512::Col2imBfloat16});
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    engines.push_back({"avx2", &avx2::Forward, &avx2::Backward, &avx2::Im2colBfloat16,
                       &avx2::Col2imBfloat16});
  }
#endif
  engines.push_back({"baseline", &baseline::Forward, &baseline::Backward, &baseline::Im2colBfloat16,
                       &baseline::Col2imBfloat16});
  return engines;
}

}  // namespace

const CpuEngine& SelectCpuEngine() {
  static const CpuEngine engine = [] {
    const std::vector<CpuEngine> engines = SupportedEngines();
    // EFGRNET_CPU_ENGINE=baseline|avx2|avx512 picks a slower variant, so that tests can check
    // every variant on one machine; a name the CPU does not support is ignored.
    const char* requested = std::getenv("EFGRNET_CPU_ENGINE");
    for (const CpuEngine& candidate : engines) {
      if (requested != nullptr && std::strcmp(requested, candidate.isa) == 0) return candidate;
    }
    return engines.front();
  }();
  return engine;
}

}  // namespace deform_conv
}  // namespace efgrnet
