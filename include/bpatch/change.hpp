// bpatch::Change — what one transaction does to one target, and the builders
// that make one without filling structs by hand:
//
//   tx.add(Change::edit("fw.bin", {EditOp::write(0x10, bytes), EditOp::fill(0, 4, 0xff)}));
//   tx.add(Change::delta("game.sfc", "patches/game.bps").expecting(hash));
//   tx.add(Change::put("new/readme.txt", Data::from("hello")).with_mode(0644));
//   tx.add(Change::remove("old.dat"));
//   tx.add(Change::move("old/name.bin", "new/name.bin"));  // no copy: the same inode
//   tx.add(Change::copy("base.cfg", "site.cfg").with_mode(0600));
//   tx.add(Change::symlink("lib/libfoo.so", "libfoo.so.2"));
//   tx.add(Change::mkdir("var/cache", 0750));
//   tx.add(Change::chmod("bin/tool", 0755));
//   tx.add(Change::rmdir("old/empty"));
//
// Several changes to one file stack in the order added (txn/chain.hpp):
// expect= of the first refers to the file before them, result= of the last
// to the file after them.
//
// Plain values; no I/O happens until Transaction::commit().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bpatch/hash.hpp"

namespace bpatch {

// The `<data>` of a script line: inline bytes (`hex:…`) or a file (`file:…`).
struct Data {
  std::vector<std::byte> bytes;  // used when file is empty
  std::string file;              // path of a blob, absolute or relative to the cwd

  static Data from(std::span<const std::byte> b) { return Data{{b.begin(), b.end()}, {}}; }
  static Data from(std::string_view text) {
    const auto* p = reinterpret_cast<const std::byte*>(text.data());
    return Data{{p, p + text.size()}, {}};
  }
  static Data from_file(std::string path) { return Data{{}, std::move(path)}; }
};

// One edit operation; offsets refer to the file as the previous ops left it.
struct EditOp {
  enum class Kind { write, fill, insert, erase, truncate, append };
  Kind kind = Kind::write;
  uint64_t offset = 0;  // write, fill, insert, erase
  uint64_t length = 0;  // fill, erase; truncate: the new size
  std::byte value{0};   // fill
  Data data;            // write, insert, append
  std::string origin;   // "script.bpatch:12" for messages; may be empty

  static EditOp write(uint64_t offset, Data data) {
    return {Kind::write, offset, 0, {}, std::move(data), {}};
  }
  static EditOp fill(uint64_t offset, uint64_t length, uint8_t value) {
    return {Kind::fill, offset, length, std::byte{value}, {}, {}};
  }
  static EditOp insert(uint64_t offset, Data data) {
    return {Kind::insert, offset, 0, {}, std::move(data), {}};
  }
  static EditOp erase(uint64_t offset, uint64_t length) {
    return {Kind::erase, offset, length, {}, {}, {}};
  }
  static EditOp truncate(uint64_t size) { return {Kind::truncate, 0, size, {}, {}, {}}; }
  static EditOp append(Data data) { return {Kind::append, 0, 0, {}, std::move(data), {}}; }
};

// One change to one target.
struct Change {
  // The tree statements (symlink, mkdir, rmdir, chmod) act on the entry
  // itself: a final symlink in `target` is never followed.
  enum class Kind { edit, delta, put, remove, symlink, mkdir, rmdir, chmod, move, copy };
  Kind kind = Kind::edit;
  std::string target;             // relative to the root; confined to it
  std::optional<Hash128> expect;  // required pre-image hash (edit, delta, remove, put)
  // `expect=none` (put, delta): the target must not exist — a new file must
  // not silently replace one that is there — unless it already has result=.
  bool expect_absent = false;
  // The new content's hash (edit, delta, put): checked on the shadow before
  // the commit point; a target that already has it (and the mode) is left
  // alone, "already up to date".
  std::optional<Hash128> result;
  std::optional<Hash128> patch_hash;  // delta: the patch file's hash, checked before decoding
  std::vector<EditOp> edits;          // edit
  std::string patch;                  // delta: the patch file (absolute or relative to the cwd)
  std::string source;                 // edit/delta: read the old content here instead of
                                      // from target (`apply -o`); absolute or cwd-relative
  Data content;                       // put
  std::string link_target;            // symlink: what the link holds, stored as given
  std::optional<uint32_t> mode;       // the result's permission bits; default: the target's
                                      // (0644 for a new file); mkdir, chmod: required
  std::string origin;                 // "script.bpatch:12", for messages; may be empty
  std::string from;                   // move, copy: the file (relative to the root, confined as
                                      // target is) whose content the target gets; expect=
                                      // refers to it. A move removes it (no data is copied)
  std::string data_dir;               // scripts: the script's directory, which every patch and
                                      // file: path must resolve inside (as targets inside the
                                      // root); empty: no such confinement

  // delta `slice=OFFSET+LENGTH`: the patch is these bytes of the decoded pack
  // that `patch` names (see src/txn/packed_patch.hpp); patch_hash is the pack's.
  std::optional<std::pair<uint64_t, uint64_t>> patch_slice;

  static Change edit(std::string target, std::vector<EditOp> ops = {}) {
    Change c = of(Kind::edit, std::move(target));
    c.edits = std::move(ops);
    return c;
  }
  static Change delta(std::string target, std::string patch_file) {
    Change c = of(Kind::delta, std::move(target));
    c.patch = std::move(patch_file);
    return c;
  }
  static Change put(std::string target, Data content) {
    Change c = of(Kind::put, std::move(target));
    c.content = std::move(content);
    return c;
  }
  static Change remove(std::string target) { return of(Kind::remove, std::move(target)); }

  static Change move(std::string from, std::string target) {
    Change c = of(Kind::move, std::move(target));
    c.from = std::move(from);
    return c;
  }
  static Change copy(std::string from, std::string target) {
    Change c = of(Kind::copy, std::move(target));
    c.from = std::move(from);
    return c;
  }
  static Change symlink(std::string target, std::string holds) {
    Change c = of(Kind::symlink, std::move(target));
    c.link_target = std::move(holds);
    return c;
  }
  static Change mkdir(std::string dir, uint32_t permission_bits) {
    Change c = of(Kind::mkdir, std::move(dir));
    c.mode = permission_bits;
    return c;
  }
  static Change rmdir(std::string dir) { return of(Kind::rmdir, std::move(dir)); }
  static Change chmod(std::string target, uint32_t permission_bits) {
    Change c = of(Kind::chmod, std::move(target));
    c.mode = permission_bits;
    return c;
  }

  Change&& expecting(const Hash128& pre_image) && {
    expect = pre_image;
    return std::move(*this);
  }
  Change&& resulting_in(const Hash128& post_image) && {
    result = post_image;
    return std::move(*this);
  }
  Change&& with_mode(uint32_t permission_bits) && {
    mode = permission_bits;
    return std::move(*this);
  }
  Change&& reading_from(std::string old_content) && {
    source = std::move(old_content);
    return std::move(*this);
  }

 private:
  // What every builder starts from: a change of `kind` to `target`.
  static Change of(Kind kind, std::string target) {
    Change c;
    c.kind = kind;
    c.target = std::move(target);
    return c;
  }
};

// The statement name of a kind ("edit", "delta", "put", "remove", …), as the
// script, the --json reports and the Python results spell it.
inline const char* change_kind_name(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::edit:
      return "edit";
    case Change::Kind::delta:
      return "delta";
    case Change::Kind::put:
      return "put";
    case Change::Kind::remove:
      return "remove";
    case Change::Kind::move:
      return "move";
    case Change::Kind::copy:
      return "copy";
    case Change::Kind::symlink:
      return "symlink";
    case Change::Kind::mkdir:
      return "mkdir";
    case Change::Kind::rmdir:
      return "rmdir";
    case Change::Kind::chmod:
      return "chmod";
  }
  return "?";
}

}  // namespace bpatch
