// Reference IPS, BPS and UPS appliers for differential fuzzing: whole-buffer,
// obviously-correct decoders written from the format documents with the
// same acceptance rules as the library (documented in src/formats/*.cpp),
// sharing no code with it. Each returns the output, or nullopt when the patch
// must be refused for any reason (malformed, wrong source, bad checksum).
//
// They allocate the whole output: callers keep the declared sizes small.
#pragma once

#include <optional>

#include "testing/rom_encoders.hpp"

namespace bpatch::testing {

std::optional<Bytes> reference_apply_ips(const Bytes& patch, const Bytes& old);
// check_target_crc = false skips only the final check of the result's CRC
// (a harness uses that to learn the CRC a patch must carry to be accepted).
std::optional<Bytes> reference_apply_bps(const Bytes& patch, const Bytes& old,
                                         bool check_target_crc = true);
// Forward, or in reverse when `old` matches the output side.
std::optional<Bytes> reference_apply_ups(const Bytes& patch, const Bytes& old,
                                         bool check_target_crc = true);

// The sizes a BPS/UPS header declares (nullopt when unreadable), so a
// harness can skip patches whose output would be too large to hold.
struct DeclaredSizes {
  uint64_t source = 0;
  uint64_t target = 0;
};
std::optional<DeclaredSizes> beat_declared_sizes(const Bytes& patch);

}  // namespace bpatch::testing
