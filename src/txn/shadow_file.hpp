// ShadowFile: the Sink that writes a target's new content into its shadow.
//
// Writes go through a large buffer into the shadow file, are hashed with
// XXH3-128 on the way (the post-image hash recorded in the manifest), and
// written back early in the background (File::start_writeback) so that the
// final fsync is short.
//
// Large unchanged ranges of the original arrive through write_from() and are
// shared (reflink, FICLONERANGE) or copied inside the kernel
// (copy_file_range) instead of passing through memory, so that a small edit
// of a huge file costs little — on a reflink file system, nothing that grows
// with the file. Those bytes are not seen, so such a file has no post-image
// hash; the manifest then identifies the new content by inode and size,
// which is what recovery checks in any case. Holes of a sparse original
// (File::seek_data) are skipped, not written, and stay holes.
//
// Not thread-safe. The File must outlive the sink.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "bpatch/file_system.hpp"
#include "bpatch/hash.hpp"
#include "bpatch/io.hpp"

namespace bpatch {

class ShadowFile final : public Sink {
 public:
  // on_progress(bytes) is called after each flushed block with the bytes written.
  explicit ShadowFile(File& file, std::function<void(uint64_t)> on_progress = nullptr);

  void write(std::span<const std::byte> data) override;
  void write_from(const Source& src, uint64_t offset, uint64_t length) override;
  void read_back(uint64_t offset, std::span<std::byte> out) override;
  uint64_t size() const override { return flushed_ + buffer_.size(); }

  // Flushes what is buffered and returns the content's hash, or nullopt when
  // part of the content was copied in the kernel unseen. Call once, at the end.
  std::optional<Hash128> finish();

 private:
  void flush();
  void write_data_from(const Source& src, uint64_t offset, uint64_t length);
  bool copy_in_kernel(File& src, uint64_t offset, uint64_t length);
  File& file_;
  std::function<void(uint64_t)> on_progress_;
  std::vector<std::byte> buffer_;
  uint64_t flushed_ = 0;       // bytes already in the file
  uint64_t written_back_ = 0;  // bytes handed to start_writeback
  Hasher hasher_;
  bool hash_complete_ = true;  // false once bytes bypassed the hasher
  bool holes_ = false;         // holes were skipped: the size is set at the end
};

// A Sink that hashes and counts without writing (dry runs). It keeps the
// first kRetained bytes so formats that copy from earlier output can still be
// verified; a read back beyond them fails with Errc::unsupported.
class HashingSink final : public Sink {
 public:
  static constexpr uint64_t kRetained = 64 << 20;
  // At most `limit` bytes (a patch's declared size): more is a bad patch,
  // so that a dry run stops where a real run would.
  explicit HashingSink(uint64_t limit = UINT64_MAX) : limit_(limit) {}
  void write(std::span<const std::byte> data) override;
  void read_back(uint64_t offset, std::span<std::byte> out) override;
  uint64_t size() const override { return size_; }
  Hash128 digest() const { return hasher_.digest(); }

 private:
  Hasher hasher_;
  uint64_t size_ = 0;
  uint64_t limit_;
  std::vector<std::byte> retained_;
};

}  // namespace bpatch
