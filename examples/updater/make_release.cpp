// make_release — writes the sample data the updater example runs on:
//
//   make_release OUT_DIR [--damaged]
//
//   OUT_DIR/app/        release 1 of a small "application", as installed
//     bin/app.bin         256 KiB program image          (updated by a delta)
//     data/index.dat      a table: "IDX1" u32-version records…  (edited)
//     assets/legacy.dat   a file release 2 no longer has  (removed)
//     assets/keep.dat     a file release 2 leaves alone
//   OUT_DIR/update/     what the updater downloads for release 2
//     app.bin.bps         a BPS patch from release 1's bin/app.bin to release 2's
//     index-records.bin   records appended to data/index.dat
//     new.dat             a new asset (put to assets/new.dat)
//     release.txt         the version and the XXH3-128 each file must have before
//   OUT_DIR/expected/   release 2: what app/ must look like afterwards
//
// The BPS patch is written by a tiny encoder below (SourceRead, TargetRead,
// SourceCopy, and the three CRC-32s of the format), so the example needs no
// patch tool. Everything is deterministic. --damaged flips one bit of the
// patch's new data, as a bad download would.
#include <bpatch/hash.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

Bytes pseudo_random(size_t size, uint32_t seed) {
  Bytes out(size);
  for (auto& b : out) {
    seed = seed * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(seed >> 24);
  }
  return out;
}

void write_file(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

uint32_t crc32(const Bytes& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (const uint8_t b : bytes) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// beat's variable-length number: 7 bits a byte, the last byte has bit 7 set,
// and every continuation counts one more (so each number has one encoding).
void put_varint(Bytes& out, uint64_t value) {
  for (;;) {
    const uint8_t x = value & 0x7F;
    value >>= 7;
    if (value == 0) {
      out.push_back(0x80 | x);
      return;
    }
    out.push_back(x);
    --value;
  }
}

void put_u32le(Bytes& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

// A BPS patch turning `source` into source[0, at) + insert + source[at + erase, end).
Bytes make_bps(const Bytes& source, const Bytes& target, size_t at, const Bytes& insert,
               size_t erase) {
  enum { kSourceRead = 0, kTargetRead = 1, kSourceCopy = 2 };
  Bytes patch = {'B', 'P', 'S', '1'};
  put_varint(patch, source.size());
  put_varint(patch, target.size());
  put_varint(patch, 0);                              // no metadata
  put_varint(patch, ((at - 1) << 2) | kSourceRead);  // target[0, at) = source[0, at)
  put_varint(patch, ((insert.size() - 1) << 2) | kTargetRead);
  patch.insert(patch.end(), insert.begin(), insert.end());
  const size_t rest = source.size() - at - erase;
  put_varint(patch, ((rest - 1) << 2) | kSourceCopy);
  put_varint(patch, (at + erase) << 1);  // source cursor: 0 -> at + erase (positive)
  put_u32le(patch, crc32(source));
  put_u32le(patch, crc32(target));
  put_u32le(patch, crc32(patch));
  return patch;
}

std::string xxh3(const Bytes& bytes) {
  return bpatch::hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size()))).hex();
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

// data/index.dat: "IDX1", the release as u32 little-endian, then records.
Bytes index_file(uint32_t release, const Bytes& records) {
  Bytes out = {'I', 'D', 'X', '1'};
  put_u32le(out, release);
  out.insert(out.end(), records.begin(), records.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bool damaged = argc == 3 && std::string(argv[2]) == "--damaged";
  if (argc != 2 && !damaged) {
    std::fprintf(stderr, "usage: make_release OUT_DIR [--damaged]\n");
    return 2;
  }
  const fs::path out = argv[1];
  try {
    fs::remove_all(out);

    // bin/app.bin: release 2 replaces 3000 bytes at 100000 with 5000 new ones.
    const Bytes app1 = pseudo_random(256 * 1024, 1);
    const Bytes inserted = pseudo_random(5000, 2);
    constexpr size_t kAt = 100000, kErased = 3000;
    Bytes app2(app1.begin(), app1.begin() + kAt);
    app2.insert(app2.end(), inserted.begin(), inserted.end());
    app2.insert(app2.end(), app1.begin() + kAt + kErased, app1.end());

    const Bytes records1 = text("record one\nrecord two\n");
    const Bytes new_records = text("record three\n");
    Bytes records2 = records1;
    records2.insert(records2.end(), new_records.begin(), new_records.end());
    const Bytes index1 = index_file(1, records1);
    const Bytes index2 = index_file(2, records2);

    const Bytes legacy = text("an asset release 2 does not need\n");
    const Bytes keep = pseudo_random(4096, 3);
    const Bytes new_asset = pseudo_random(10000, 4);

    write_file(out / "app/bin/app.bin", app1);
    write_file(out / "app/data/index.dat", index1);
    write_file(out / "app/assets/legacy.dat", legacy);
    write_file(out / "app/assets/keep.dat", keep);

    Bytes patch = make_bps(app1, app2, kAt, inserted, kErased);
    if (damaged) patch[patch.size() / 2] ^= 0x10;  // inside the TargetRead data
    write_file(out / "update/app.bin.bps", patch);
    write_file(out / "update/index-records.bin", new_records);
    write_file(out / "update/new.dat", new_asset);
    std::string release =
        "# what release 2 expects to find before it changes anything\nversion 2\n";
    release += "expect bin/app.bin " + xxh3(app1) + "\n";
    release += "expect data/index.dat " + xxh3(index1) + "\n";
    release += "expect assets/legacy.dat " + xxh3(legacy) + "\n";
    write_file(out / "update/release.txt", text(release));

    write_file(out / "expected/bin/app.bin", app2);
    write_file(out / "expected/data/index.dat", index2);
    write_file(out / "expected/assets/keep.dat", keep);
    write_file(out / "expected/assets/new.dat", new_asset);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_release: %s\n", e.what());
    return 1;
  }
  return 0;
}
