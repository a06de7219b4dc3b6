// `bpatch hash` and `bpatch info`: read-only looks at files and patches.
#include <cinttypes>
#include <cstdio>

#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/posix_file_system.hpp"
#include "commands.hpp"
#include "json.hpp"

namespace bpatch::cli {
namespace {

std::string crc_hex(uint32_t crc) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", crc);
  return buf;
}

}  // namespace

int run_hash(const CommonOptions& common, const std::vector<std::string>& files) {
  PosixFileSystem fs;
  Json j;
  if (common.json)
    j.begin_object().field("ok", true).field("command", "hash").key("files").begin_array();
  for (const auto& file : files) {
    const Hash128 h = hash_file(fs, real_path(file));
    if (common.json)
      j.begin_object().field("file", file).field("xxh3", h.hex()).end_object();
    else
      std::printf("%s  %s\n", h.hex().c_str(), file.c_str());  // the layout of `xxhsum -H2`
  }
  if (common.json) {
    j.end_array().end_object();
    std::printf("%s\n", j.str().c_str());
  }
  return kExitOk;
}

int run_info(const CommonOptions& common, const std::string& patch_path) {
  PosixFileSystem fs;
  const auto patch = open_source(fs, real_path(patch_path));
  const PatchInfo info = inspect_patch(*patch);
  if (common.json) {
    Json j;
    j.begin_object().field("ok", true).field("command", "info").field("patch", patch_path);
    j.field("format", format_name(info.format)).field("patch_size", info.patch_size);
    auto opt_size = [&](const char* key, const std::optional<uint64_t>& v) {
      j.key(key);
      v ? j.value(*v) : j.null();
    };
    auto opt_crc = [&](const char* key, const std::optional<uint32_t>& v) {
      j.key(key);
      v ? j.value(crc_hex(*v)) : j.null();
    };
    opt_size("source_size", info.source_size);
    opt_size("target_size", info.target_size);
    opt_crc("source_crc32", info.source_crc32);
    opt_crc("target_crc32", info.target_crc32);
    opt_crc("patch_crc32", info.patch_crc32);
    j.field("metadata", info.metadata).key("details").begin_object();
    for (const auto& [k, v] : info.details) j.field(k, v);
    j.end_object().end_object();
    std::printf("%s\n", j.str().c_str());
    return kExitOk;
  }
  std::printf("%-14s %s\n", "format:", format_name(info.format));
  std::printf("%-14s %" PRIu64 " bytes\n", "patch size:", info.patch_size);
  if (info.source_size) std::printf("%-14s %" PRIu64 " bytes\n", "source size:", *info.source_size);
  if (info.target_size) std::printf("%-14s %" PRIu64 " bytes\n", "target size:", *info.target_size);
  if (info.source_crc32)
    std::printf("%-14s %s\n", "source crc32:", crc_hex(*info.source_crc32).c_str());
  if (info.target_crc32)
    std::printf("%-14s %s\n", "target crc32:", crc_hex(*info.target_crc32).c_str());
  if (info.patch_crc32)
    std::printf("%-14s %s\n", "patch crc32:", crc_hex(*info.patch_crc32).c_str());
  if (!info.metadata.empty()) std::printf("%-14s %s\n", "metadata:", info.metadata.c_str());
  for (const auto& [k, v] : info.details) std::printf("%-14s %s\n", (k + ":").c_str(), v.c_str());
  return kExitOk;
}

}  // namespace bpatch::cli
