// `move SRC DST` and `copy SRC DST`: a target whose new content is another
// file of the tree.
//
// Both resolve SRC beneath ROOT exactly as targets are (symbolic links
// followed only while they stay inside; a move refuses a final symlink,
// which it would otherwise leave dangling) and refuse a directory. expect=
// refers to SRC.
//
// A move copies nothing: DST's shadow is a second name (a hard link) of
// SRC's inode, and the manifest says
//     replace SHADOW DST ino=<SRC's ino> …
//     remove  SRC       ino=<the same ino> …
// which replay performs idempotently (docs/protocol.md §4.1: the shadow,
// DST after the rename and SRC before its unlink are all that inode), and a
// roll back deletes only the shadow's name. Only when SRC and DST's
// directory are on different file systems, the file system cannot link, or
// mode= asks for another mode is the content copied instead (and SRC still
// removed). A copy writes DST's shadow from SRC through the shadow sink:
// shared extents (reflink) where the file system has them, else
// copy_file_range, else read and write.
#pragma once

#include <optional>

#include "base/durability.hpp"
#include "bpatch/transaction.hpp"
#include "journal/records.hpp"
#include "txn/plan.hpp"

namespace bpatch {

// Validation of a move's or copy's source, once its target is planned:
// fills p.source, p.source_stat, p.mode (SRC's unless mode=), p.pre_hash
// (expect=), p.remove_source and p.link. True when there is nothing to do: a
// move with expect= whose SRC is gone and whose DST already has that content
// (a second apply of the same script).
bool plan_transfer_source(FileSystem& fs, const TransactionOptions& options, const Change& change,
                          PlannedChange& p);

// Staging (protocol step 6) of a move planned as a link: makes the shadow a
// hard link of the source and its data durable. False when the file system
// refused the link in a way a copy avoids (EXDEV, EPERM, EMLINK, no links):
// the caller then copies. Any other error propagates.
bool stage_by_link(Durability& sync, PlannedChange& p);

// The manifest entry that removes a moved file's old name; it follows the
// `replace` of its new name. nullopt for anything but a move.
std::optional<journal::ManifestEntry> source_removal(const PlannedChange& p);

}  // namespace bpatch
