// Adler-32 (RFC 1950), as xdelta3 stores it per window (VCD_ADLER32).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpatch::vcdiff {

// Continues `adler` (1 for a fresh checksum) over [data, data+len).
uint32_t adler32(uint32_t adler, const uint8_t* data, size_t len);

}  // namespace bpatch::vcdiff
