// Sources and sinks: how decoders and edit lists read their inputs and write
// their output without holding whole files in memory.
//
// * Source — random-access, read-only bytes of known size: an original file,
//   a patch, a blob. FileSource reads through a File (pread); MemorySource
//   wraps a buffer (tests, fuzzers, small patches).
// * Sink — where a new file's content is streamed, front to back. The shadow
//   file sink (internal) hashes while it writes and copies unchanged ranges
//   in the kernel; MemorySink collects into a vector.
// * ByteReader — a buffered forward cursor over a Source, with the bounds
//   checks every patch parser needs (reads past the end throw bad_patch
//   naming the offset).
//
// Thread-safety: none of these are shared between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bpatch {

class File;

class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  // Reads exactly out.size() bytes at offset. Throws Error(bad_patch) naming
  // name() when [offset, offset+out.size()) is not inside the source.
  virtual void read(uint64_t offset, std::span<std::byte> out) const = 0;
  // A path or label for error messages.
  virtual const std::string& name() const = 0;
  // The underlying file, when there is one (lets a sink copy in the kernel).
  virtual File* file() const { return nullptr; }
};

class FileSource final : public Source {
 public:
  // Does not take ownership; `file` must outlive the source. The size is read
  // once, at construction.
  explicit FileSource(File& file);
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<std::byte> out) const override;
  const std::string& name() const override;
  File* file() const override { return &file_; }

 private:
  File& file_;
  uint64_t size_;
};

class FileSystem;

// Opens `path` read-only through fs and returns a Source that owns the file.
std::shared_ptr<const Source> open_source(FileSystem& fs, const std::string& path);

class MemorySource final : public Source {
 public:
  // Does not copy: `data` must outlive the source.
  explicit MemorySource(std::span<const std::byte> data, std::string name = "<memory>");
  // Owns a copy of `data`.
  explicit MemorySource(std::vector<std::byte> data, std::string name = "<memory>");
  uint64_t size() const override { return data_.size(); }
  void read(uint64_t offset, std::span<std::byte> out) const override;
  const std::string& name() const override { return name_; }

 private:
  std::vector<std::byte> owned_;
  std::span<const std::byte> data_;
  std::string name_;
};

// Throws Error(bad_patch, src.name(), …) unless [offset, offset+length) lies
// inside src; overflow-safe.
void check_range(const Source& src, uint64_t offset, uint64_t length);

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::span<const std::byte> data) = 0;
  // Appends src [offset, offset+length). The default reads and writes in
  // chunks; file sinks override it to share or copy extents in the kernel.
  virtual void write_from(const Source& src, uint64_t offset, uint64_t length);
  // Appends `length` copies of `value`.
  virtual void write_fill(std::byte value, uint64_t length);
  // Reads back bytes already written: [offset, offset+out.size()) must lie
  // below size(). For formats whose copies reference earlier output.
  virtual void read_back(uint64_t offset, std::span<std::byte> out) = 0;
  // Bytes written so far.
  virtual uint64_t size() const = 0;
};

class MemorySink final : public Sink {
 public:
  void write(std::span<const std::byte> data) override;
  void read_back(uint64_t offset, std::span<std::byte> out) override;
  uint64_t size() const override { return data_.size(); }
  const std::vector<std::byte>& data() const { return data_; }

 private:
  std::vector<std::byte> data_;
};

// A forward cursor over a Source with a read buffer. Every read is bounds
// checked against the source's size; a read past the end throws
// Error(bad_patch, source name, "truncated at offset N: …").
class ByteReader {
 public:
  explicit ByteReader(const Source& src, uint64_t start = 0, size_t buffer_size = 1 << 16);

  uint64_t offset() const { return pos_; }
  uint64_t remaining() const { return src_.size() - pos_; }
  const Source& source() const { return src_; }

  uint8_t u8();
  uint32_t u32le();
  uint32_t u32be();
  uint64_t u64le();
  void read(std::span<std::byte> out);
  void skip(uint64_t n);
  void seek(uint64_t offset);
  // Copies n bytes straight into a sink.
  void copy_to(Sink& out, uint64_t n);

  // Throws Error(bad_patch) naming the source, the current offset and `what`.
  [[noreturn]] void fail(const std::string& what) const;

 private:
  void refill(size_t need);
  const Source& src_;
  uint64_t pos_;            // logical position in the source
  uint64_t buf_start_ = 0;  // source offset of buf_[0]
  std::vector<std::byte> buf_;
  size_t buf_len_ = 0;
};

}  // namespace bpatch
