// Edits (private): a new file described as pieces of the old one plus new bytes.
//
// An EditList starts as "the whole original" and each operation (write,
// fill, insert, erase, truncate, append) rewrites the list of pieces, with
// offsets that refer to the file as the previous operations left it. Nothing
// is read or copied until emit() streams the result into a Sink, so a small
// edit of a huge file costs a few pieces, and unchanged ranges can be shared
// (reflinked) or copied in the kernel by the sink.
//
// Not thread-safe. Blob sources must outlive the list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpatch/change.hpp"
#include "bpatch/io.hpp"

namespace bpatch {

struct Piece {
  enum class Kind { source, fill, blob };
  Kind kind = Kind::source;
  uint64_t offset = 0;  // into the original (source) or the blob (blob)
  uint64_t length = 0;
  std::byte value{0};                  // fill
  std::shared_ptr<const Source> blob;  // blob (inline bytes become a MemorySource)
};

class EditList {
 public:
  explicit EditList(uint64_t original_size);

  // Each throws Error(usage, "", "<what is out of range>") when the offsets
  // do not fit the file as it stands; the caller adds the script line.
  void write(uint64_t offset, std::shared_ptr<const Source> data);  // may extend at the end
  void fill(uint64_t offset, uint64_t length, std::byte value);     // may extend at the end
  void insert(uint64_t offset, std::shared_ptr<const Source> data);
  void erase(uint64_t offset, uint64_t length);
  void truncate(uint64_t size);  // extends with zeros
  void append(std::shared_ptr<const Source> data);

  uint64_t size() const { return size_; }
  const std::vector<Piece>& pieces() const { return pieces_; }

  // Streams the new file: source pieces from `original`, the rest from blobs.
  // Throws Error(concurrent_change) when `original` is not of the size the
  // list was made for.
  void emit(const Source& original, Sink& out) const;

 private:
  void replace(uint64_t offset, uint64_t erase_length, std::vector<Piece> with);
  std::vector<Piece> pieces_;
  uint64_t size_;
  uint64_t original_size_;
  size_t hint_index_ = 0;    // a piece untouched by the last op,
  uint64_t hint_start_ = 0;  // and its offset: where the next search may start
};

class FileSystem;

// Applies one script op to `list`, opening `file:` blobs through `fs`.
// Errors are rethrown with op.origin ("script.bpatch:12: …") in the message.
void apply_edit_op(EditList& list, const EditOp& op, FileSystem& fs);

// The bytes of a Data: a MemorySource over the inline bytes or the opened file.
std::shared_ptr<const Source> open_data(const Data& data, FileSystem& fs);

}  // namespace bpatch
