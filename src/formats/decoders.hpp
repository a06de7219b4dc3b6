// The per-format entry points behind format.hpp's dispatch (registry.cpp).
// Each format lives in its own files and provides these three functions.
#pragma once

#include <string>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"

namespace bpatch::formats {

// Errc::bad_patch naming the patch and the offset of the fault.
[[noreturn]] inline void fail_at(const Source& patch, uint64_t offset, const std::string& what) {
  throw Error(Errc::bad_patch, patch.name(), "at offset " + std::to_string(offset) + ": " + what);
}

#define BPATCH_DECLARE_FORMAT(name)                                        \
  PatchInfo inspect_##name(const Source& patch);                           \
  SourceCheck check_source_##name(const Source& patch, const Source& old); \
  void apply_##name(const Source& patch, const Source& old, Sink& out);

BPATCH_DECLARE_FORMAT(bsdiff40)
BPATCH_DECLARE_FORMAT(bsdiff43)
BPATCH_DECLARE_FORMAT(vcdiff)
BPATCH_DECLARE_FORMAT(ips)
BPATCH_DECLARE_FORMAT(bps)
BPATCH_DECLARE_FORMAT(ups)
BPATCH_DECLARE_FORMAT(zstd)

#undef BPATCH_DECLARE_FORMAT

}  // namespace bpatch::formats
