// The two journal records and their on-disk encoding (docs/protocol.md).
//
// intent-TXID   written and synced before any shadow exists: lists every
//               shadow and directory the transaction may create, so that
//               recovery can delete them if the transaction never commits.
// manifest-TXID the commit record: every rename/unlink to replay. It is
//               written as manifest-TXID.tmp, synced, and renamed into place;
//               the transaction is committed exactly when that rename is durable.
//
// Both are line-based text ending with a checksum line over all bytes before
// it, so a torn or damaged record is recognised and never trusted:
//
//   record   := header "\n" ("txid " TXID "\n") ("journal " PATH "\n")
//               ("root " PATH "\n") line* "checksum " HEX32 "\n"
//   header   := "bpatch-intent 2" | "bpatch-manifest 2"
//   TXID     := 16 lowercase hex digits "-" 8 lowercase hex digits
//   intent   line := "mkdir " PATH | "shadow " PATH
//   manifest line := "replace " SHADOW " " TARGET " ino=" N " size=" N " mode=" OCT
//                                   " pre=" (HEX32|"-") " post=" (HEX32|"-")
//                  | "remove " TARGET " ino=" N " size=" N " pre=" (HEX32|"-")
//                  | "symlink " SHADOW " " TARGET " ino=" N " size=" N " post=" HEX32
//                  | "chmod " TARGET " ino=" N " mode=" OCT       ; a directory's mode
//                  | "rmdir " TARGET " ino=" N                    ; after the others
//   PATH     := absolute path, bytes <= 0x20, '%' and 0x7f written as %XX
//   HEX32    := XXH3-128 in canonical hex (the checksum is over the record's bytes)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bpatch/hash.hpp"

namespace bpatch::journal {

struct IntentRecord {
  std::string txid;
  std::string journal;               // the journal directory it was written in
  std::string root;                  // the ROOT every path lies beneath
  std::vector<std::string> dirs;     // directories created, parents first
  std::vector<std::string> shadows;  // shadow files that may exist
};

struct ManifestEntry {
  // replace: rename a shadow file over the target; symlink: the same with a
  // shadow symlink; remove: unlink the target; chmod: set a directory's
  // mode; rmdir: remove a directory.
  enum class Op { replace, remove, symlink, chmod, rmdir };
  Op op = Op::replace;
  std::string shadow;  // replace, symlink
  std::string target;
  uint64_t ino = 0;   // replace, symlink: the shadow's inode (the target's after the rename);
                      // remove, chmod, rmdir: the target's inode
  uint64_t size = 0;  // replace, symlink, remove: the size that inode has
  uint32_t mode = 0;  // replace, chmod
  std::optional<Hash128> pre_hash;
  std::optional<Hash128> post_hash;
  bool operator==(const ManifestEntry&) const = default;
};

struct ManifestRecord {
  std::string txid;
  std::string journal;  // the journal directory it was written in
  std::string root;     // the ROOT every path lies beneath
  std::vector<ManifestEntry> entries;
};

std::string encode_intent(const IntentRecord& record);
std::string encode_manifest(const ManifestRecord& record);

// Both throw Error(Errc::journal, name, "<cause>") for a record that is torn,
// truncated, fails its checksum, has an unknown version or a malformed line.
IntentRecord decode_intent(std::string_view bytes, const std::string& name);
ManifestRecord decode_manifest(std::string_view bytes, const std::string& name);

}  // namespace bpatch::journal
