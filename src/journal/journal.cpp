#include "journal/journal.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "base/paths.hpp"
#include "bpatch/error.hpp"

namespace bpatch::journal {

std::string dir_for(const std::string& root, const std::string& journal) {
  return journal.empty() ? paths::join(root, ".bpatch") : journal;
}
namespace {

bool parse_record_name(const std::string& name, std::string* txid, RecordSet* kind) {
  auto take = [&](std::string_view prefix, std::string_view suffix) {
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
    if (name.size() <= prefix.size() + suffix.size()) return false;
    *txid = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    return is_txid(*txid);
  };
  *kind = RecordSet{};
  if (take("manifest-", ".tmp")) return kind->manifest_tmp = true;
  if (take("manifest-", "")) return kind->manifest = true;
  if (take("intent-", "")) return kind->intent = true;
  if (take("undo-", "")) return kind->undo = true;
  if (take("forget-", "")) return kind->forget = true;
  return false;
}

// The journal decides what root's recovery renames and unlinks, so it is
// trusted only when no other user could have written it: owned by us, not
// writable by group or others. (Its checksums stop torn records, not forged
// ones: anyone can compute an XXH3.)
void check_trusted(FileSystem& fs, const std::string& path, const FileStat& st, FileType type,
                   const char* what) {
  if (st.type == FileType::symlink)
    throw Error(Errc::invalid_path, path, std::string(what) + " must not be a symbolic link");
  if (st.type != type)
    throw Error(Errc::invalid_path, path,
                std::string(what) + " is not a " +
                    (type == FileType::directory ? "directory" : "regular file"));
  const uint32_t me = fs.effective_uid();
  const char* advice =
      "; refusing to trust it (another user could have forged it). Use --journal with a directory "
      "only you can write, e.g. /var/lib/bpatch/NAME";
  if (st.uid != me)
    throw Error(Errc::journal, path,
                std::string(what) + " is owned by uid " + std::to_string(st.uid) + ", not by uid " +
                    std::to_string(me) + advice);
  if (st.mode & 022)
    throw Error(Errc::journal, path,
                std::string(what) + " is writable by group or others" + advice);
}

}  // namespace

bool is_txid(std::string_view s) {
  if (s.size() != 25 || s[16] != '-') return false;
  for (size_t i = 0; i < s.size(); ++i)
    if (i != 16 && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

bool ensure_dir(Durability& sync, const std::string& dir) {
  FileSystem& fs = sync.fs();
  if (fs.lstat(dir)) return false;
  fs.make_dir(dir, 0700);
  // The journal's own directory entry must be durable before any record in
  // it is relied on: otherwise a power cut could lose the whole journal
  // (with a committed manifest inside) while the renames it lists survive.
  sync.sync_dir(paths::dirname(dir), "journal.parent");
  return true;
}

Journal Journal::open(Durability& sync, const std::string& dir, double wait_seconds) {
  FileSystem& fs = sync.fs();
  const auto st = fs.lstat(dir);
  if (!st) throw Error(Errc::not_found, dir, "the journal directory does not exist", ENOENT);
  check_trusted(fs, dir, *st, FileType::directory, "the journal directory");

  const std::string lock_path = paths::join(dir, "LOCK");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_seconds);
  for (;;) {
    if (auto lock = fs.try_lock(lock_path)) {
      if (const auto lock_st = fs.lstat(lock_path))
        check_trusted(fs, lock_path, *lock_st, FileType::regular, "the journal's LOCK");
      return Journal(dir, std::move(lock));
    }
    if (wait_seconds >= 0 && std::chrono::steady_clock::now() >= deadline)
      throw Error(Errc::locked, dir,
                  "the journal is locked by another bpatch (use --wait to wait for it)",
                  EWOULDBLOCK);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::optional<Journal> Journal::open_read_only(FileSystem& fs, const std::string& dir) {
  const auto st = fs.lstat(dir);
  if (!st) return std::nullopt;
  check_trusted(fs, dir, *st, FileType::directory, "the journal directory");
  return Journal(dir, nullptr);
}

std::string Journal::intent_path(const std::string& txid) const {
  return paths::join(dir_, "intent-" + txid);
}
std::string Journal::manifest_path(const std::string& txid) const {
  return paths::join(dir_, "manifest-" + txid);
}
std::string Journal::manifest_tmp_path(const std::string& txid) const {
  return manifest_path(txid) + ".tmp";
}

std::string Journal::undo_path(const std::string& txid) const {
  return paths::join(dir_, "undo-" + txid);
}
std::string Journal::forget_path(const std::string& txid) const {
  return paths::join(dir_, "forget-" + txid);
}

std::map<std::string, RecordSet> Journal::records(FileSystem& fs) const {
  std::map<std::string, RecordSet> out;
  for (const auto& name : fs.list_dir(dir_)) {
    std::string txid;
    RecordSet kind;
    if (!parse_record_name(name, &txid, &kind)) continue;
    RecordSet& set = out[txid];
    set.intent |= kind.intent;
    set.manifest |= kind.manifest;
    set.manifest_tmp |= kind.manifest_tmp;
    set.undo |= kind.undo;
    set.forget |= kind.forget;
  }
  return out;
}

std::string Journal::new_txid(FileSystem& fs) const {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  uint64_t ns =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
  // Keep txids increasing even if the clock stepped back.
  const auto existing = records(fs);
  char buf[48];
  for (;;) {
    std::snprintf(buf, sizeof buf, "%016llx-%08x", static_cast<unsigned long long>(ns),
                  static_cast<unsigned>(::getpid()));
    if (existing.empty() || existing.rbegin()->first < buf) return buf;
    ns = std::stoull(existing.rbegin()->first.substr(0, 16), nullptr, 16) + 1;
  }
}

std::string read_small_file(FileSystem& fs, const std::string& path) {
  auto file = fs.open(path, OpenMode::read);
  const FileStat st = file->stat();
  check_trusted(fs, path, st, FileType::regular, "the journal record");
  const uint64_t size = st.id.size;
  if (size > kMaxRecordSize) throw Error(Errc::journal, path, "record is implausibly large");
  std::string bytes(size, '\0');
  const size_t n = file->read_at(0, std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
  bytes.resize(n);
  return bytes;
}

void write_synced_file(Durability& sync, const std::string& path, std::string_view bytes,
                       std::string_view site) {
  // A record recovery would refuse to read must never be written: the
  // transaction is refused (before its commit point) instead.
  if (bytes.size() > kMaxRecordSize)
    throw Error(Errc::too_large, path,
                "the transaction is too large for one journal record (" +
                    std::to_string(bytes.size() >> 20) + " MiB; the limit is 64 MiB): split it");
  auto file = sync.fs().open(path, OpenMode::create_exclusive);
  file->write_at(0, std::as_bytes(std::span(bytes.data(), bytes.size())));
  sync.sync_file(*file, site);
}

}  // namespace bpatch::journal

namespace bpatch {
std::string default_journal_dir(const std::string& root) { return journal::dir_for(root, ""); }
}  // namespace bpatch
