// libFuzzer target for the `.bpatch` parser and the EditList.
//
// Any input must either parse or throw Error(script_syntax). A script that
// parses must look like one, its targets must be normalized relative paths,
// and the edit ops of each `edit` (inline data only) are run on an EditList
// over a small original and on a plain byte vector; the two must agree.
// Anything else traps, which libFuzzer reports as a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/script.hpp"
#include "edit/edit_list.hpp"

namespace {

using bpatch::EditOp;
using Bytes = std::vector<std::byte>;

constexpr uint64_t kMaxModelSize = 1 << 20;

bool normalized(std::string_view path) {
  if (path.empty() || path.front() == '/' || path.back() == '/') return false;
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// Inline data never touches the file system: every call is a finding.
class NoFileSystem final : public bpatch::FileSystem {
 public:
  std::unique_ptr<bpatch::File> open(const std::string&, bpatch::OpenMode) override { trap(); }
  std::optional<bpatch::FileStat> lstat(const std::string&) override { trap(); }
  std::string read_link(const std::string&) override { trap(); }
  std::vector<std::string> list_dir(const std::string&) override { trap(); }
  void make_dir(const std::string&, uint32_t) override { trap(); }
  void remove_dir(const std::string&) override { trap(); }
  void rename(const std::string&, const std::string&) override { trap(); }
  void unlink(const std::string&) override { trap(); }
  void sync_dir(const std::string&) override { trap(); }
  std::unique_ptr<bpatch::FileLock> try_lock(const std::string&) override { trap(); }

 private:
  [[noreturn]] static void trap() { __builtin_trap(); }
};

enum class Outcome { applied, rejected, too_big };

// The naive model of one op.
Outcome model_apply(Bytes& f, const EditOp& op) {
  const uint64_t size = f.size();
  const Bytes& d = op.data.bytes;
  const auto at = [&](uint64_t i) { return f.begin() + static_cast<ptrdiff_t>(i); };
  switch (op.kind) {
    case EditOp::Kind::write:
      if (op.offset > size) return Outcome::rejected;
      if (op.offset + d.size() > size) f.resize(op.offset + d.size());
      std::copy(d.begin(), d.end(), at(op.offset));
      return Outcome::applied;
    case EditOp::Kind::fill:
      if (op.offset > size) return Outcome::rejected;
      if (op.length > kMaxModelSize || op.offset + op.length > kMaxModelSize)
        return Outcome::too_big;
      if (op.offset + op.length > size) f.resize(op.offset + op.length);
      std::fill_n(at(op.offset), op.length, op.value);
      return Outcome::applied;
    case EditOp::Kind::insert:
      if (op.offset > size) return Outcome::rejected;
      f.insert(at(op.offset), d.begin(), d.end());
      return Outcome::applied;
    case EditOp::Kind::erase:
      if (op.offset > size || op.length > size - op.offset) return Outcome::rejected;
      f.erase(at(op.offset), at(op.offset + op.length));
      return Outcome::applied;
    case EditOp::Kind::truncate:
      if (op.length > kMaxModelSize) return Outcome::too_big;
      f.resize(op.length, std::byte{0});
      return Outcome::applied;
    case EditOp::Kind::append:
      f.insert(f.end(), d.begin(), d.end());
      return Outcome::applied;
  }
  __builtin_trap();
}

void check_edits(const bpatch::Change& change) {
  NoFileSystem no_fs;
  Bytes original(64);
  for (size_t i = 0; i < original.size(); ++i) original[i] = static_cast<std::byte>(i * 7);
  Bytes model = original;
  bpatch::EditList list(original.size());
  for (const EditOp& op : change.edits) {
    if (!op.data.file.empty()) return;  // blobs are files; nothing to open here
    const Outcome outcome = model_apply(model, op);
    if (outcome == Outcome::too_big) return;
    try {
      bpatch::apply_edit_op(list, op, no_fs);
      if (outcome == Outcome::rejected) __builtin_trap();
    } catch (const bpatch::Error& e) {
      if (outcome != Outcome::rejected || e.code() != bpatch::Errc::script_syntax) __builtin_trap();
    }
    if (list.size() != model.size()) __builtin_trap();
  }
  bpatch::MemorySource src{std::span<const std::byte>(original)};
  bpatch::MemorySink sink;
  list.emit(src, sink);
  if (sink.data() != model) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<bpatch::Change> changes;
  try {
    changes = bpatch::parse_script(text, "fuzz.bpatch", "");
  } catch (const bpatch::Error& e) {
    // A compressed script (zstd magic) whose frame declares more than the
    // script limit is refused as too_large, before any memory is given.
    const bool compressed = text.starts_with(std::string_view("\x28\xB5\x2F\xFD", 4));
    const bool expected = e.code() == bpatch::Errc::script_syntax ||
                          (compressed && e.code() == bpatch::Errc::too_large);
    if (!expected || e.path() != "fuzz.bpatch") __builtin_trap();
    return 0;
  }
  for (const bpatch::Change& change : changes) {
    if (!normalized(change.target)) __builtin_trap();
    if (change.kind == bpatch::Change::Kind::delta && !normalized(change.patch)) __builtin_trap();
    if (change.kind == bpatch::Change::Kind::edit) {
      if (change.edits.empty()) __builtin_trap();
      check_edits(change);
    }
  }
  return 0;
}
