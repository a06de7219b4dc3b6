#include "bpatch/io.hpp"

#include <algorithm>
#include <cstring>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

// A FileSource that owns its file.
class OwnedFileSource final : public Source {
 public:
  explicit OwnedFileSource(std::unique_ptr<File> file) : file_(std::move(file)), source_(*file_) {}
  uint64_t size() const override { return source_.size(); }
  void read(uint64_t offset, std::span<std::byte> out) const override { source_.read(offset, out); }
  const std::string& name() const override { return source_.name(); }
  File* file() const override { return file_.get(); }

 private:
  std::unique_ptr<File> file_;
  FileSource source_;
};

}  // namespace

void check_range(const Source& src, uint64_t offset, uint64_t length) {
  if (offset > src.size() || length > src.size() - offset)
    throw Error(Errc::bad_patch, src.name(),
                "range [" + std::to_string(offset) + ", +" + std::to_string(length) +
                    ") is past the end (size " + std::to_string(src.size()) + ")");
}

FileSource::FileSource(File& file) : file_(file), size_(0) {
  const FileStat st = file.stat();
  if (st.type != FileType::regular)
    throw Error(Errc::not_regular, file.path(), "is not a regular file");
  size_ = st.id.size;
}

void FileSource::read(uint64_t offset, std::span<std::byte> out) const {
  check_range(*this, offset, out.size());
  const size_t n = file_.read_at(offset, out);
  if (n != out.size())
    throw Error(
        Errc::concurrent_change, file_.path(),
        "file shrank while being read (short read at offset " + std::to_string(offset + n) + ")");
}

const std::string& FileSource::name() const { return file_.path(); }

std::shared_ptr<const Source> open_source(FileSystem& fs, const std::string& path) {
  return std::make_shared<OwnedFileSource>(fs.open(path, OpenMode::read));
}

MemorySource::MemorySource(std::span<const std::byte> data, std::string name)
    : data_(data), name_(std::move(name)) {}

MemorySource::MemorySource(std::vector<std::byte> data, std::string name)
    : owned_(std::move(data)), data_(owned_), name_(std::move(name)) {}

void MemorySource::read(uint64_t offset, std::span<std::byte> out) const {
  check_range(*this, offset, out.size());
  if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
}

void Sink::write_from(const Source& src, uint64_t offset, uint64_t length) {
  check_range(src, offset, length);
  std::vector<std::byte> buf(std::min<uint64_t>(length, kCopyChunk));
  while (length > 0) {
    const size_t n = std::min<uint64_t>(length, buf.size());
    src.read(offset, std::span(buf.data(), n));
    write(std::span(buf.data(), n));
    offset += n;
    length -= n;
  }
}

void Sink::write_fill(std::byte value, uint64_t length) {
  std::vector<std::byte> buf(std::min<uint64_t>(length, kCopyChunk), value);
  while (length > 0) {
    const size_t n = std::min<uint64_t>(length, buf.size());
    write(std::span(buf.data(), n));
    length -= n;
  }
}

void MemorySink::write(std::span<const std::byte> data) {
  data_.insert(data_.end(), data.begin(), data.end());
}

void MemorySink::read_back(uint64_t offset, std::span<std::byte> out) {
  if (offset > data_.size() || out.size() > data_.size() - offset)
    throw Error(Errc::bad_patch, "<output>", "read back past the end of the output");
  if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
}

ByteReader::ByteReader(const Source& src, uint64_t start, size_t buffer_size)
    : src_(src), pos_(start), buf_start_(start), buf_(buffer_size) {
  if (start > src.size()) fail("start offset past the end");
}

void ByteReader::fail(const std::string& what) const {
  throw Error(Errc::bad_patch, src_.name(), "at offset " + std::to_string(pos_) + ": " + what);
}

// Makes at least `need` bytes from pos_ available in buf_ (need <= buf_.size()).
void ByteReader::refill(size_t need) {
  if (pos_ >= buf_start_ && pos_ + need <= buf_start_ + buf_len_) return;
  if (need > remaining()) fail("patch is truncated");
  buf_start_ = pos_;
  buf_len_ = static_cast<size_t>(std::min<uint64_t>(buf_.size(), remaining()));
  src_.read(buf_start_, std::span(buf_.data(), buf_len_));
}

uint8_t ByteReader::u8() {
  refill(1);
  return static_cast<uint8_t>(buf_[pos_++ - buf_start_]);
}

uint32_t ByteReader::u32le() {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{u8()} << (8 * i);
  return v;
}

uint32_t ByteReader::u32be() {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | u8();
  return v;
}

uint64_t ByteReader::u64le() {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{u8()} << (8 * i);
  return v;
}

void ByteReader::read(std::span<std::byte> out) {
  if (out.size() > remaining()) fail("patch is truncated");
  size_t done = 0;
  while (done < out.size()) {
    if (out.size() - done >= buf_.size()) {  // large: bypass the buffer
      src_.read(pos_, out.subspan(done));
      pos_ += out.size() - done;
      return;
    }
    refill(1);
    const size_t avail = static_cast<size_t>(buf_start_ + buf_len_ - pos_);
    const size_t n = std::min(avail, out.size() - done);
    std::memcpy(out.data() + done, buf_.data() + (pos_ - buf_start_), n);
    pos_ += n;
    done += n;
  }
}

void ByteReader::skip(uint64_t n) {
  if (n > remaining()) fail("patch is truncated");
  pos_ += n;
}

void ByteReader::seek(uint64_t offset) {
  if (offset > src_.size()) fail("seek past the end");
  pos_ = offset;
}

void ByteReader::copy_to(Sink& out, uint64_t n) {
  if (n > remaining()) fail("patch is truncated");
  out.write_from(src_, pos_, n);
  pos_ += n;
}

}  // namespace bpatch
