// One libFuzzer executable per target: CMake compiles this file once per target name with
// CYRCONV_FUZZ_TARGET set to the function in fuzz_targets.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cyrconv::fuzz::CYRCONV_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
