// Edits (private): a new file described as pieces of the old one plus new bytes.
//
// An EditList starts as "the whole original" and each operation (write,
// fill, insert, erase, truncate, append) rewrites the list of pieces, with
// offsets that refer to the file as the previous operations left it. Nothing
// is read or copied until emit() streams the result into a Sink, so a small
// edit of a huge file costs a few pieces, and unchanged ranges can be shared
// (reflinked) or copied in the kernel by the sink. Each op costs O(log
// pieces) whatever its offset (piece_tree.hpp).
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
#include "edit/piece.hpp"
#include "edit/piece_tree.hpp"

namespace bpatch {

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
  size_t piece_count() const { return tree_.count(); }
  // The pieces in order (built on demand: O(pieces); for tests and tools).
  const std::vector<Piece>& pieces() const;

  // Streams the new file: source pieces from `original`, the rest from blobs.
  // Throws Error(concurrent_change) when `original` is not of the size the
  // list was made for.
  void emit(const Source& original, Sink& out) const;

 private:
  void replace(uint64_t offset, uint64_t erase_length, std::vector<Piece> with);
  PieceTree tree_;
  uint64_t size_;
  uint64_t original_size_;
  mutable std::vector<Piece> flat_;  // pieces(), valid while !flat_stale_
  mutable bool flat_stale_ = true;
};

class FileSystem;

// Applies one script op to `list`, opening `file:` blobs through `fs`. The
// op's inline bytes are referred to, not copied: the op must outlive the list.
// Errors are rethrown with op.origin ("script.bpatch:12: …") in the message.
void apply_edit_op(EditList& list, const EditOp& op, FileSystem& fs);

// The bytes of a Data: a MemorySource viewing the inline bytes (`data` must
// outlive it) or the opened file.
std::shared_ptr<const Source> open_data(const Data& data, FileSystem& fs);

}  // namespace bpatch
