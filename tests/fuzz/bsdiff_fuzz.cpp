// libFuzzer target for the BSDIFF40 and ENDSLEY/BSDIFF43 decoders.
//
// Input layout: mode:u8 old_len:u16le old[old_len] rest. With mode bit 1
// clear, `rest` is the patch. With it set, `rest` is the patch's decoded
// content and the harness compresses it (so mutations reach the control
// triples instead of dying on bzip2 CRCs):
//   bit 2 clear: new_size:u32le ctrl_len:u16le diff_len:u16le ctrl diff extra
//                -> a BSDIFF40 patch with those three streams
//   bit 2 set:   new_size:u32le body -> an ENDSLEY/BSDIFF43 patch
// The patch is decoded against `old` twice, once with every bzip2 stream decoded inline
// and once with every stream on a worker thread (mode bit 0 picks which runs
// first). Each run must either throw bpatch::Error or produce exactly the
// header's new size; the two runs must agree (same output, or errors with
// the same code). inspect_patch and check_source must throw Error or
// return. Anything else traps, which libFuzzer reports as a finding.
#include <boost/iostreams/device/back_inserter.hpp>
#include <boost/iostreams/filter/bzip2.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "formats/bsdiff_apply.hpp"

namespace {

// Patches declaring more output than this are only inspected: the output
// is collected in memory here.
constexpr uint64_t kMaxNewSize = 16 << 20;

struct Outcome {
  std::optional<bpatch::Errc> error;
  std::vector<std::byte> output;
};

Outcome run(const bpatch::Source& patch, const bpatch::Source& old, bool endsley, bool threads) {
  bpatch::formats::BsdiffOptions options;
  options.background_threshold = threads ? 0 : UINT64_MAX;
  bpatch::MemorySink sink;
  Outcome outcome;
  try {
    if (endsley)
      bpatch::formats::apply_bsdiff43_with(patch, old, sink, options);
    else
      bpatch::formats::apply_bsdiff40_with(patch, old, sink, options);
    outcome.output = sink.data();
  } catch (const bpatch::Error& e) {
    outcome.error = e.code();
  }
  return outcome;
}

std::string bz2(std::span<const uint8_t> data) {
  namespace bio = boost::iostreams;
  std::string out;
  {
    bio::filtering_ostream os;
    os.push(bio::bzip2_compressor(bio::bzip2_params(1)));
    os.push(bio::back_inserter(out));
    os.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  }
  return out;
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// Builds a patch around decoded content (see the layout above); empty when
// the input is too short.
std::string build_patch(std::span<const uint8_t> in, bool endsley) {
  if (in.size() < 8) return {};
  const uint64_t new_size =
      in[0] | (uint32_t{in[1]} << 8) | (uint32_t{in[2]} << 16) | (uint32_t{in[3]} << 24);
  std::string out;
  if (endsley) {
    out = "ENDSLEY/BSDIFF43";
    put_u64(out, new_size);
    return out + bz2(in.subspan(4));
  }
  size_t ctrl_len = in[4] | (size_t{in[5]} << 8);
  size_t diff_len = in[6] | (size_t{in[7]} << 8);
  const auto rest = in.subspan(8);
  ctrl_len = std::min(ctrl_len, rest.size());
  diff_len = std::min(diff_len, rest.size() - ctrl_len);
  const std::string ctrl = bz2(rest.subspan(0, ctrl_len));
  const std::string diff = bz2(rest.subspan(ctrl_len, diff_len));
  out = "BSDIFF40";
  put_u64(out, ctrl.size());
  put_u64(out, diff.size());
  put_u64(out, new_size);
  return out + ctrl + diff + bz2(rest.subspan(ctrl_len + diff_len));
}

uint64_t declared_new_size(std::span<const uint8_t> patch, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= uint64_t{patch[at + i]} << (8 * i);
  return v;  // a negative size reads as huge here; the decoder rejects it
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const bool threads_first = (data[0] & 1) != 0;
  const size_t old_len = std::min<size_t>(data[1] | (size_t{data[2]} << 8), size - 3);
  const std::span<const uint8_t> old_bytes(data + 3, old_len);
  std::span<const uint8_t> patch_bytes(data + 3 + old_len, size - 3 - old_len);
  std::string built;
  if (data[0] & 2) {
    built = build_patch(patch_bytes, (data[0] & 4) != 0);
    patch_bytes = std::span(reinterpret_cast<const uint8_t*>(built.data()), built.size());
  }

  bpatch::MemorySource old(std::as_bytes(old_bytes), "old");
  bpatch::MemorySource patch(std::as_bytes(patch_bytes), "patch");

  const bool endsley =
      patch_bytes.size() >= 16 && std::memcmp(patch_bytes.data(), "ENDSLEY/BSDIFF43", 16) == 0;
  const bool percival =
      patch_bytes.size() >= 8 && std::memcmp(patch_bytes.data(), "BSDIFF40", 8) == 0;
  if (!endsley && !percival) return 0;

  try {
    bpatch::inspect_patch(patch);
  } catch (const bpatch::Error&) {
  }
  try {
    if (bpatch::check_source(patch, old) != bpatch::SourceCheck::matches) __builtin_trap();
  } catch (const bpatch::Error&) {
  }

  const size_t size_at = endsley ? 16 : 24;
  if (patch_bytes.size() < size_at + 8) {
    if (!run(patch, old, endsley, threads_first).error) __builtin_trap();
    return 0;
  }
  const uint64_t new_size = declared_new_size(patch_bytes, size_at);
  if (new_size > kMaxNewSize) return 0;

  const Outcome first = run(patch, old, endsley, threads_first);
  const Outcome second = run(patch, old, endsley, !threads_first);
  if (first.error != second.error) __builtin_trap();
  if (!first.error) {
    if (first.output.size() != new_size) __builtin_trap();
    if (first.output != second.output) __builtin_trap();
  }
  return 0;
}
