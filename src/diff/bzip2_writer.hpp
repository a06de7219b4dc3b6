// compress_bzip2(): one complete bzip2 stream of a buffer (libbz2, 900k
// blocks), as each of the three blocks of a BSDIFF40 patch is stored.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace bpatch::diff {

// Throws Error(io) when libbz2 fails (out of memory).
std::vector<std::byte> compress_bzip2(std::span<const std::byte> data);

}  // namespace bpatch::diff
