// diff_trees() and diff_files(): see include/bpatch/diff.hpp.
//
// diff_trees in three steps:
//   1. walk OLD and NEW (sorted) and classify every path: a regular file of
//      NEW is a job (created, or compared with OLD's); a regular file only
//      in OLD is a removal; symlinks, directories and type changes become
//      symlink / mkdir / rmdir / chmod / remove statements;
//   2. run the jobs on `threads` workers: read the pair, compare, hash,
//      encode, write the data file under a name fixed by the job's index in
//      the walk (so the names never depend on scheduling);
//   3. write update.bpatch from the results, in phases (see Phase): mkdir
//      (parents first), the files and symlinks in walk order, directory
//      modes and rmdir (deepest first).
#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "bpatch/diff.hpp"
#include "bpatch/error.hpp"
#include "bpatch/file_system.hpp"
#include "bpatch/hash.hpp"
#include "diff/file_encoder.hpp"
#include "diff/script_writer.hpp"
#include "diff/tree_walk.hpp"

namespace bpatch {

const char* diff_format_name(DiffFormat format) {
  switch (format) {
    case DiffFormat::automatic:
      return "auto";
    case DiffFormat::zstd:
      return "zstd";
    case DiffFormat::bsdiff:
      return "bsdiff";
  }
  return "?";
}

const char* diff_action_name(DiffEntry::Action action) {
  switch (action) {
    case DiffEntry::Action::modified:
      return "modified";
    case DiffEntry::Action::created:
      return "created";
    case DiffEntry::Action::removed:
      return "removed";
    case DiffEntry::Action::mode_only:
      return "mode";
    case DiffEntry::Action::symlink:
      return "symlink";
    case DiffEntry::Action::dir_created:
      return "mkdir";
    case DiffEntry::Action::dir_removed:
      return "rmdir";
  }
  return "?";
}

namespace {

using diff::Tree;
using diff::TreeEntry;

// Pairs larger than this (old + new bytes) never share the memory with
// another large pair: see the memory notes in bpatch/diff.hpp.
constexpr uint64_t kBigPair = uint64_t{256} << 20;

std::string join(const std::string& dir, const std::string& rel) { return dir + "/" + rel; }

const char* type_name(FileType t) {
  switch (t) {
    case FileType::regular:
      return "file";
    case FileType::directory:
      return "directory";
    case FileType::symlink:
      return "symlink";
    case FileType::other:
      return "special file";
  }
  return "?";
}

// One regular file of NEW (created or maybe modified) or of OLD only (removed).
struct Job {
  std::string path;
  enum class Kind { compare, create, remove } kind = Kind::compare;
  uint32_t old_mode = 0, new_mode = 0;
  size_t number = 0;    // names the data file
  bool absent = false;  // create: nothing in OLD has this name (expect=none)
  // Results.
  bool changed = false;  // content differs (or created)
  std::optional<Hash128> old_hash;
  Hash128 new_hash, patch_hash;
  uint64_t old_size = 0, new_size = 0;
  diff::EncodedFile encoded;  // bytes dropped once written (kept for a pack until packed)
  std::string data;           // data/NNNN.ext, or the pack
  bool packed = false;        // a slice of a pack: data + slice
  std::pair<uint64_t, uint64_t> slice;
};

// Small zstd patches go into packs (see src/txn/packed_patch.hpp): one zstd
// frame over many patches end to end, which saves the per-file framing and
// finds what the patches of similar files have in common (tzdata: 456
// patches of ~60 bytes, 27 KB apart, 17 KB packed). A pack holds up to
// kPackSize decoded bytes, far below what apply accepts.
constexpr uint64_t kPackSliceMax = 16 << 10;
constexpr uint64_t kPackSize = 1 << 20;

std::string data_name(size_t number, const std::string& extension) {
  std::string digits = std::to_string(number);
  if (digits.size() < 4) digits.insert(0, 4 - digits.size(), '0');
  return "data/" + digits + extension;
}

void run_job(FileSystem& fs, const std::string& old_dir, const std::string& new_dir,
             const std::string& out, const DiffOptions& options, Job& job) {
  if (job.kind == Job::Kind::remove) {
    job.old_hash = hash_file(fs, join(old_dir, job.path));
    return;
  }
  const auto target = diff::read_whole_file(fs, join(new_dir, job.path));
  std::vector<std::byte> old;
  if (job.kind == Job::Kind::compare) old = diff::read_whole_file(fs, join(old_dir, job.path));
  job.old_size = old.size();
  job.new_size = target.size();
  job.new_hash = hash_bytes(target);
  if (job.kind == Job::Kind::compare) {
    if (old == target) {
      job.old_hash = job.new_hash;
      return;
    }
    job.old_hash = hash_bytes(old);
  }
  job.changed = true;
  job.encoded = diff::encode_file(old, target, options, /*allow_whole=*/true);
  if (job.encoded.encoding == "zstd" && job.encoded.bytes.size() <= kPackSliceMax) {
    job.packed = true;  // written by write_packs()
    return;
  }
  job.patch_hash = hash_bytes(job.encoded.bytes);
  job.data = data_name(job.number, job.encoded.extension);
  diff::write_new_file(fs, join(out, job.data), job.encoded.bytes);
  job.encoded.bytes = {};
  job.encoded.bytes.shrink_to_fit();
}

// Runs every job on a pool; the first error stops the others and is rethrown.
void run_jobs(FileSystem& fs, const std::string& old_dir, const std::string& new_dir,
              const std::string& out, const DiffOptions& options, std::vector<Job>& jobs) {
  Progress progress;
  progress.files_total = jobs.size();
  for (const auto& j : jobs) progress.bytes_total += j.kind == Job::Kind::remove ? 0 : j.new_size;
  std::mutex mutex;
  std::mutex big_pair;  // large pairs are encoded one at a time, to bound memory
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  auto worker = [&] {
    while (!failed) {
      const size_t i = next++;
      if (i >= jobs.size()) return;
      try {
        const uint64_t planned = jobs[i].new_size;
        std::unique_lock big(big_pair, std::defer_lock);
        if (jobs[i].old_size + jobs[i].new_size > kBigPair) big.lock();
        run_job(fs, old_dir, new_dir, out, options, jobs[i]);
        if (big.owns_lock()) big.unlock();
        std::lock_guard lock(mutex);
        progress.bytes_done += jobs[i].kind == Job::Kind::remove ? 0 : planned;
        ++progress.files_done;
        if (options.progress) options.progress(progress);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  const unsigned wanted =
      options.threads ? options.threads : std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  const unsigned n = std::max(1u, std::min<unsigned>(wanted, static_cast<unsigned>(jobs.size())));
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

void prepare_output_dir(FileSystem& fs, const std::string& out, const std::string& old_dir,
                        const std::string& new_dir) {
  for (const auto* tree : {&old_dir, &new_dir})
    if (out == *tree || out.starts_with(*tree + "/"))
      throw Error(Errc::usage, out, "the bundle must not be inside the trees being compared");
  if (const auto st = fs.lstat(out)) {
    if (st->type != FileType::directory || !fs.list_dir(out).empty())
      throw Error(Errc::usage, out,
                  "already exists (give a new or empty directory for the bundle)");
  } else {
    fs.make_dir(out, 0755);
  }
  fs.make_dir(join(out, "data"), 0755);
}

// A symlink's hash is its link text's: what `remove LINK expect=` checks.
Hash128 link_hash(const std::string& text) {
  return hash_bytes(std::as_bytes(std::span(text.data(), text.size())));
}

bool is_below(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

// Where a statement goes in the script. Within a phase statements follow the
// walk (byte order of paths), except rmdir and directory chmod, which go
// deepest first.
enum class Phase {
  make_dirs,    // mkdir, parents before children
  entries,      // files and symlinks: delta, put, symlink, chmod, remove
  dir_modes,    // chmod of a directory (after its entries were made)
  remove_dirs,  // rmdir, deepest first (after their entries were removed)
};

struct Statement {
  Phase phase = Phase::entries;
  std::string path;
  std::string text;  // one or more lines, without the last newline
};

class TreeDiffer {
 public:
  TreeDiffer(FileSystem& fs, const std::string& old_dir, const std::string& new_dir,
             const std::string& out, const DiffOptions& options)
      : fs_(fs), old_dir_(old_dir), new_dir_(new_dir), out_(out), options_(options) {}

  DiffResult run();

 private:
  void classify();
  void classify_type_change(const std::string& path, const TreeEntry& oe, const TreeEntry& ne);
  void add(DiffEntry entry, Phase phase, std::string text);
  Job& add_job(const std::string& path, Job::Kind kind, const TreeEntry* oe, const TreeEntry* ne);
  std::string write_script();
  void write_packs();

  FileSystem& fs_;
  const std::string &old_dir_, &new_dir_, &out_;
  const DiffOptions& options_;
  Tree old_, new_;
  std::vector<Job> jobs_;
  std::vector<std::string> skipped_roots_;  // inexpressible type changes: subtree left out
  // Entries without a job, with the statement that expresses them (empty
  // text: none needed, or none possible and entry.emitted is false).
  std::vector<std::pair<DiffEntry, Statement>> others_;
  size_t number_ = 0;  // data file numbers, in walk order
  DiffResult result_;
};

void TreeDiffer::add(DiffEntry entry, Phase phase, std::string text) {
  Statement st{phase, entry.path, std::move(text)};
  others_.emplace_back(std::move(entry), std::move(st));
}

Job& TreeDiffer::add_job(const std::string& path, Job::Kind kind, const TreeEntry* oe,
                         const TreeEntry* ne) {
  Job job;
  job.path = path;
  job.kind = kind;
  job.old_mode = oe ? oe->mode : 0;
  job.new_mode = ne ? ne->mode : 0;
  job.new_size = ne ? ne->size : 0;
  job.old_size = oe ? oe->size : 0;
  job.number = ++number_;
  jobs_.push_back(std::move(job));
  return jobs_.back();
}

// OLD and NEW have different kinds of entry at `path`. A symlink replaces a
// regular file in one statement. The others would need two statements on one
// name (remove or rmdir, then the new kind), which a transaction refuses, and
// a put onto a symlink would write through it: they are left out, with
// everything below them, and listed (the bundle is then incomplete).
void TreeDiffer::classify_type_change(const std::string& path, const TreeEntry& oe,
                                      const TreeEntry& ne) {
  DiffEntry entry;
  entry.path = path;
  const std::string change = std::string(type_name(oe.type)) + " -> " + type_name(ne.type);
  if (oe.type == FileType::regular && ne.type == FileType::symlink) {
    entry.action = DiffEntry::Action::symlink;
    entry.note = change + ", -> " + ne.link_target;
    add(std::move(entry), Phase::entries,
        "symlink " + diff::script_token(path) + " " + diff::script_token(ne.link_target));
    return;
  }
  skipped_roots_.push_back(path);
  entry.action = DiffEntry::Action::modified;
  entry.emitted = false;
  entry.note = "changes from a " + change + ": not expressible in one transaction (" +
               (ne.type == FileType::directory || oe.type == FileType::directory
                    ? "the name would need a remove or rmdir and a new entry"
                    : "a put would write through the symlink") +
               "); apply leaves it, and what is below it, as it is";
  result_.complete = false;
  add(std::move(entry), Phase::entries, "");
}

void TreeDiffer::classify() {
  std::vector<std::string> paths;
  for (const auto& [p, e] : old_) paths.push_back(p);
  for (const auto& [p, e] : new_)
    if (!old_.contains(p)) paths.push_back(p);
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) {
    if (std::any_of(skipped_roots_.begin(), skipped_roots_.end(),
                    [&](const std::string& r) { return is_below(path, r); }))
      continue;
    const auto o = old_.find(path);
    const auto n = new_.find(path);
    const TreeEntry* oe = o == old_.end() ? nullptr : &o->second;
    const TreeEntry* ne = n == new_.end() ? nullptr : &n->second;
    if (oe && ne && oe->type != ne->type) {
      classify_type_change(path, *oe, *ne);
      continue;
    }
    DiffEntry entry;
    entry.path = path;
    const FileType type = ne ? ne->type : oe->type;
    const std::string token = diff::script_token(path);
    if (type == FileType::regular) {
      add_job(path,
              !oe   ? Job::Kind::create
              : !ne ? Job::Kind::remove
                    : Job::Kind::compare,
              oe, ne)
          .absent = !oe;
    } else if (type == FileType::symlink) {
      if (oe && ne && oe->link_target == ne->link_target) continue;
      entry.action = ne ? DiffEntry::Action::symlink : DiffEntry::Action::removed;
      entry.note = ne ? "-> " + ne->link_target : "symlink removed";
      add(std::move(entry), Phase::entries,
          ne ? "symlink " + token + " " + diff::script_token(ne->link_target)
             : "remove " + token + " expect=xxh3:" + link_hash(oe->link_target).hex());
    } else if (type == FileType::directory) {
      if (oe && ne) {
        if (oe->mode == ne->mode) continue;
        entry.action = DiffEntry::Action::mode_only;
        entry.note =
            "directory mode " + diff::mode_token(oe->mode) + " -> " + diff::mode_token(ne->mode);
        add(std::move(entry), Phase::dir_modes,
            "chmod " + token + " " + diff::mode_token(ne->mode));
      } else if (ne) {
        // Every new directory says its mode: apply would otherwise give the
        // ones it makes for new files 0755 whatever NEW has.
        entry.action = DiffEntry::Action::dir_created;
        add(std::move(entry), Phase::make_dirs,
            "mkdir " + token + " mode=" + diff::mode_token(ne->mode));
      } else {
        entry.action = DiffEntry::Action::dir_removed;
        add(std::move(entry), Phase::remove_dirs, "rmdir " + token);
      }
    }
  }
}

// The packed jobs' patches, in walk order, into packs of up to kPackSize
// bytes; a pack that would not be smaller than its patches written one by
// one is not made (they are written as data files of their own).
void TreeDiffer::write_packs() {
  std::vector<Job*> packed;
  for (auto& j : jobs_)
    if (j.packed) packed.push_back(&j);
  size_t pack_number = 0;
  for (size_t begin = 0; begin < packed.size();) {
    size_t end = begin;
    std::vector<std::byte> pack;
    while (end < packed.size() &&
           (end == begin || pack.size() + packed[end]->encoded.bytes.size() <= kPackSize)) {
      auto& bytes = packed[end]->encoded.bytes;
      // Inside a pack a frame's own XXH64 checksum is dropped (the flag is
      // bit 2 of the frame header descriptor, the checksum its last 4
      // bytes, RFC 8878 3.1.1): it is 4 random, incompressible bytes per
      // file, and the pack's patch= hash and each file's result= hash
      // already check everything it would.
      if (bytes.size() >= 9 && (static_cast<unsigned>(bytes[4]) & 0x04) != 0) {
        bytes[4] &= std::byte{0xFB};
        bytes.resize(bytes.size() - 4);
      }
      packed[end]->slice = {pack.size(), bytes.size()};
      pack.insert(pack.end(), bytes.begin(), bytes.end());
      ++end;
    }
    const auto frame = encode_zstd_patch({}, pack, options_.zstd);
    if (end - begin > 1 && frame.size() < pack.size()) {
      const std::string name = "data/pack" + std::to_string(++pack_number) + ".zst";
      diff::write_new_file(fs_, join(out_, name), frame);
      const Hash128 hash = hash_bytes(frame);
      for (size_t i = begin; i < end; ++i) {
        packed[i]->data = name;
        packed[i]->patch_hash = hash;
      }
    } else {
      for (size_t i = begin; i < end; ++i) {
        Job& j = *packed[i];
        j.packed = false;
        j.patch_hash = hash_bytes(j.encoded.bytes);
        j.data = data_name(j.number, j.encoded.extension);
        diff::write_new_file(fs_, join(out_, j.data), j.encoded.bytes);
      }
    }
    for (size_t i = begin; i < end; ++i) packed[i]->encoded.bytes = {};
    begin = end;
  }
}

std::string TreeDiffer::write_script() {
  size_t modified = 0, created = 0, removed = 0, mode_only = 0;
  for (const auto& j : jobs_) {
    if (j.kind == Job::Kind::remove)
      ++removed;
    else if (j.kind == Job::Kind::create)
      ++created;
    else if (j.changed)
      ++modified;
    else if (j.old_mode != j.new_mode)
      ++mode_only;
  }
  diff::ScriptWriter script(
      "made by `bpatch diff`; apply with `bpatch apply BUNDLE --root TREE`\n" +
      std::to_string(modified) + " modified, " + std::to_string(created) + " created, " +
      std::to_string(removed) + " removed, " + std::to_string(mode_only) + " mode only");
  std::vector<std::string> missing;
  for (const auto& [entry, statement] : others_)
    if (!entry.emitted)
      missing.push_back(std::string(diff_action_name(entry.action)) + " " + entry.path +
                        (entry.note.empty() ? "" : " (" + entry.note + ")"));
  if (!missing.empty()) {
    std::string text = "NOT expressed (no statement can say it):";
    for (const auto& m : missing) text += "\n  " + m;
    script.comment(text);
  }
  std::vector<Statement> statements;
  for (const auto& [entry, statement] : others_)
    if (entry.emitted && !statement.text.empty()) statements.push_back(statement);
  for (size_t i = 0; i < jobs_.size(); ++i) {
    const Job& j = jobs_[i];
    diff::ScriptWriter line;  // this one statement
    switch (j.kind) {
      case Job::Kind::remove:
        line.remove(j.path, *j.old_hash);
        break;
      case Job::Kind::create:
      case Job::Kind::compare:
        if (!j.changed) {
          if (j.old_mode == j.new_mode) continue;
          line.mode_only(j.path, j.new_hash, j.new_size, j.new_mode);
        } else {
          // A new file always says its mode; a changed one only a new mode.
          const auto mode = j.kind == Job::Kind::create || j.old_mode != j.new_mode
                                ? std::optional<uint32_t>(j.new_mode)
                                : std::nullopt;
          if (j.encoded.encoding == "raw")
            line.put(j.path, j.data, j.old_hash, j.new_hash, mode, j.absent);
          else
            line.delta(j.path, j.data, j.old_hash, j.new_hash, j.patch_hash, mode, j.absent,
                       j.packed ? std::optional(j.slice) : std::nullopt);
        }
        break;
    }
    std::string text = line.text();
    if (!text.empty() && text.back() == '\n') text.pop_back();
    statements.push_back({Phase::entries, j.path, std::move(text)});
  }
  // Phases in order; rmdir and directory chmod deepest first (reverse byte
  // order puts every child before its parent), the rest in walk order.
  std::stable_sort(
      statements.begin(), statements.end(), [](const Statement& a, const Statement& b) {
        if (a.phase != b.phase) return a.phase < b.phase;
        const bool reverse = a.phase == Phase::remove_dirs || a.phase == Phase::dir_modes;
        return reverse ? b.path < a.path : a.path < b.path;
      });
  for (const auto& st : statements) script.raw_line(st.text);
  return script.text();
}

DiffResult TreeDiffer::run() {
  old_ = diff::walk_tree(fs_, old_dir_);
  new_ = diff::walk_tree(fs_, new_dir_);
  classify();
  prepare_output_dir(fs_, out_, old_dir_, new_dir_);
  run_jobs(fs_, old_dir_, new_dir_, out_, options_, jobs_);
  write_packs();
  const std::string text = write_script();
  const auto text_bytes = std::as_bytes(std::span(text.data(), text.size()));
  // The script is written as one zstd frame (parse_script reads it): its
  // hashes and paths are most of a bundle of small files, and the frame's
  // checksum makes any damage to it an error (a flipped bit in a plain
  // script's comment, or in a mode, would go unnoticed without a signature).
  const auto script = encode_zstd_patch({}, text_bytes, options_.zstd);
  diff::write_new_file(fs_, join(out_, "update.bpatch"), script);
  result_.bundle_bytes = script.size();

  // The report, in walk order.
  std::vector<DiffEntry> entries;
  for (const auto& j : jobs_) {
    if (j.kind != Job::Kind::remove && !j.changed && j.old_mode == j.new_mode) {
      ++result_.unchanged_files;
      continue;
    }
    DiffEntry e;
    e.path = j.path;
    e.old_size = j.old_size;
    e.new_size = j.new_size;
    e.action = j.kind == Job::Kind::remove   ? DiffEntry::Action::removed
               : j.kind == Job::Kind::create ? DiffEntry::Action::created
               : j.changed                   ? DiffEntry::Action::modified
                                             : DiffEntry::Action::mode_only;
    if (j.changed) {
      e.encoding = j.encoded.encoding;
      e.data = j.data;
      if (j.packed) {
        e.data_size = j.slice.second;  // decoded; the pack's own size is counted once below
        e.data += " slice=" + std::to_string(j.slice.first) + "+" + std::to_string(j.slice.second);
      } else {
        const auto st = fs_.lstat(join(out_, j.data));
        e.data_size = st ? st->id.size : 0;
        result_.bundle_bytes += e.data_size;
      }
      e.note = j.encoded.note;
    } else if (e.action == DiffEntry::Action::mode_only) {
      e.note = diff::mode_token(j.old_mode) + " -> " + diff::mode_token(j.new_mode);
    }
    entries.push_back(std::move(e));
  }
  for (auto& [entry, statement] : others_) entries.push_back(std::move(entry));
  std::set<std::string> packs;
  for (const auto& j : jobs_)
    if (j.packed && packs.insert(j.data).second) {
      const auto st = fs_.lstat(join(out_, j.data));
      result_.bundle_bytes += st ? st->id.size : 0;
    }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const DiffEntry& a, const DiffEntry& b) { return a.path < b.path; });
  result_.entries = std::move(entries);
  return std::move(result_);
}

}  // namespace

DiffResult diff_trees(FileSystem& fs, const std::string& old_dir, const std::string& new_dir,
                      const std::string& out, const DiffOptions& options) {
  return TreeDiffer(fs, old_dir, new_dir, out, options).run();
}

DiffResult diff_files(FileSystem& fs, const std::string& old_path, const std::string& new_path,
                      const std::string& out, const DiffOptions& options) {
  for (const auto* path : {&old_path, &new_path}) {
    const auto st = fs.lstat(*path);
    if (!st) throw Error(Errc::not_found, *path, "does not exist", ENOENT);
    if (st->type != FileType::regular)
      throw Error(Errc::not_regular, *path, "is not a regular file");
  }
  if (fs.lstat(out))
    throw Error(Errc::usage, out, "already exists (give a new file for the patch)");
  const auto old = diff::read_whole_file(fs, old_path);
  const auto target = diff::read_whole_file(fs, new_path);
  auto encoded = diff::encode_file(old, target, options, /*allow_whole=*/false);
  diff::write_new_file(fs, out, encoded.bytes);
  DiffEntry e;
  e.path = out;
  e.action = DiffEntry::Action::modified;
  e.encoding = encoded.encoding;
  e.old_size = old.size();
  e.new_size = target.size();
  e.data_size = encoded.bytes.size();
  e.note = encoded.note;
  DiffResult result;
  result.bundle_bytes = e.data_size;
  result.entries.push_back(std::move(e));
  if (options.progress) options.progress(Progress{target.size(), target.size(), 1, 1});
  return result;
}

}  // namespace bpatch
