// EditList: a piece table over the original file.
//
// The list is a sequence of pieces that, read in order, spell the new file:
// ranges of the original (source), runs of one byte value (fill) and ranges
// of blobs (blob). Every operation is a replace(offset, erase_length, with):
// the pieces around the two cut points are split, the pieces between them are
// dropped, `with` goes in between, and neighbours that continue each other
// are merged again — in a balanced tree (piece_tree.hpp), O(log pieces).
#include "edit/edit_list.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"

namespace bpatch {
namespace {

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::string num(uint64_t v) { return std::to_string(v); }

[[noreturn]] void out_of_range(const std::string& message) {
  throw Error(Errc::usage, "", message);
}

Piece blob_piece(std::shared_ptr<const Source> data) {
  Piece p;
  p.kind = Piece::Kind::blob;
  p.length = data->size();
  p.blob = std::move(data);
  return p;
}

Piece fill_piece(uint64_t length, std::byte value) {
  Piece p;
  p.kind = Piece::Kind::fill;
  p.length = length;
  p.value = value;
  return p;
}

}  // namespace

EditList::EditList(uint64_t original_size) : size_(0), original_size_(original_size) {
  if (original_size > 0) {
    Piece p;
    p.kind = Piece::Kind::source;
    p.length = original_size;
    replace(0, 0, {std::move(p)});
  }
}

void EditList::write(uint64_t offset, std::shared_ptr<const Source> data) {
  const uint64_t length = data->size();
  if (offset > size_)
    out_of_range("write at offset " + num(offset) + " starts past the end of the file (size " +
                 num(size_) + ")");
  if (length > kMax - offset)
    out_of_range("write of " + num(length) + " bytes at offset " + num(offset) +
                 " overflows 64 bits");
  if (length == 0) return;
  replace(offset, std::min(length, size_ - offset), {blob_piece(std::move(data))});
}

void EditList::fill(uint64_t offset, uint64_t length, std::byte value) {
  if (offset > size_)
    out_of_range("fill at offset " + num(offset) + " starts past the end of the file (size " +
                 num(size_) + ")");
  if (length > kMax - offset)
    out_of_range("fill of " + num(length) + " bytes at offset " + num(offset) +
                 " overflows 64 bits");
  if (length == 0) return;
  replace(offset, std::min(length, size_ - offset), {fill_piece(length, value)});
}

void EditList::insert(uint64_t offset, std::shared_ptr<const Source> data) {
  const uint64_t length = data->size();
  if (offset > size_)
    out_of_range("insert at offset " + num(offset) + " is past the end of the file (size " +
                 num(size_) + ")");
  if (length > kMax - size_)
    out_of_range("insert of " + num(length) + " bytes into a file of " + num(size_) +
                 " bytes overflows 64 bits");
  if (length == 0) return;
  replace(offset, 0, {blob_piece(std::move(data))});
}

void EditList::erase(uint64_t offset, uint64_t length) {
  if (offset > size_ || length > size_ - offset)
    out_of_range("delete of " + num(length) + " bytes at offset " + num(offset) +
                 " runs past the end of the file (size " + num(size_) + ")");
  if (length == 0) return;
  replace(offset, length, {});
}

void EditList::truncate(uint64_t size) {
  if (size < size_)
    replace(size, size_ - size, {});
  else if (size > size_)
    replace(size_, 0, {fill_piece(size - size_, std::byte{0})});
}

void EditList::append(std::shared_ptr<const Source> data) {
  const uint64_t length = data->size();
  if (length > kMax - size_)
    out_of_range("append of " + num(length) + " bytes to a file of " + num(size_) +
                 " bytes overflows 64 bits");
  if (length == 0) return;
  replace(size_, 0, {blob_piece(std::move(data))});
}

// Replaces [offset, offset + erase_length) of the current file with `with`.
// Preconditions (checked by the callers): offset + erase_length <= size_,
// and size_ - erase_length + length(with) fits in 64 bits.
void EditList::replace(uint64_t offset, uint64_t erase_length, std::vector<Piece> with) {
  uint64_t added = 0;
  for (const Piece& p : with) added += p.length;
  tree_.replace(offset, erase_length, std::move(with));
  size_ = size_ - erase_length + added;
  flat_stale_ = true;
}

const std::vector<Piece>& EditList::pieces() const {
  if (flat_stale_) {
    flat_ = tree_.flatten();
    flat_stale_ = false;
  }
  return flat_;
}

void EditList::emit(const Source& original, Sink& out) const {
  if (original.size() != original_size_)
    throw Error(Errc::concurrent_change, original.name(),
                "the file is " + num(original.size()) + " bytes but its edits were planned for " +
                    num(original_size_) + " bytes");
  tree_.for_each([&](const Piece& p) {
    switch (p.kind) {
      case Piece::Kind::source:
        out.write_from(original, p.offset, p.length);
        break;
      case Piece::Kind::fill:
        out.write_fill(p.value, p.length);
        break;
      case Piece::Kind::blob:
        out.write_from(*p.blob, p.offset, p.length);
        break;
    }
  });
}

std::shared_ptr<const Source> open_data(const Data& data, FileSystem& fs) {
  if (!data.file.empty()) return open_source(fs, data.file);
  // A view, not a copy: the Data (in its Change) outlives the list and the
  // sink, and a script of a million small writes must not hold them twice.
  return std::make_shared<MemorySource>(std::span<const std::byte>(data.bytes), "<inline data>");
}

void apply_edit_op(EditList& list, const EditOp& op, FileSystem& fs) {
  try {
    switch (op.kind) {
      case EditOp::Kind::write:
        list.write(op.offset, open_data(op.data, fs));
        break;
      case EditOp::Kind::fill:
        list.fill(op.offset, op.length, op.value);
        break;
      case EditOp::Kind::insert:
        list.insert(op.offset, open_data(op.data, fs));
        break;
      case EditOp::Kind::erase:
        list.erase(op.offset, op.length);
        break;
      case EditOp::Kind::truncate:
        list.truncate(op.length);
        break;
      case EditOp::Kind::append:
        list.append(open_data(op.data, fs));
        break;
    }
  } catch (const Error& e) {
    if (op.origin.empty()) throw;
    // An op that does not fit the file is a fault of the script line.
    const Errc code = e.code() == Errc::usage ? Errc::script_syntax : e.code();
    throw Error(code, e.path(), op.origin + ": " + e.message(), e.sys_errno());
  }
}

}  // namespace bpatch
