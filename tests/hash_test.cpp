#include "bpatch/hash.hpp"

#include <catch2/catch.hpp>

using bpatch::Hash128;

TEST_CASE("Hash128 hex round-trips and rejects malformed digits", "[hash]") {
  const Hash128 h{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  CHECK(h.hex() == "0123456789abcdeffedcba9876543210");
  CHECK(Hash128::from_hex(h.hex()) == h);
  CHECK(Hash128::from_hex("0123456789ABCDEFFEDCBA9876543210") == h);
  CHECK_FALSE(Hash128::from_hex("0123"));
  CHECK_FALSE(Hash128::from_hex("0123456789abcdeffedcba987654321g"));
}

TEST_CASE("hash_bytes of the empty input is XXH3-128's published value", "[hash]") {
  // XXH3_128bits("") = 99aa06d3014798d86001c324468d497f (xxhsum -H2 of an empty file).
  CHECK(bpatch::hash_bytes({}).hex() == "99aa06d3014798d86001c324468d497f");
}
