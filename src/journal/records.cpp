#include "journal/records.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "bpatch/error.hpp"
#include "journal/record_text.hpp"

namespace bpatch::journal {
namespace {

constexpr std::string_view kIntentHeader = "bpatch-intent 2";
constexpr std::string_view kManifestHeader = "bpatch-manifest 2";

std::string hash_field(const std::optional<Hash128>& h) { return h ? h->hex() : "-"; }

// Reads one record's lines after checking its header and checksum.
class RecordReader {
 public:
  RecordReader(std::string_view bytes, std::string_view header, const std::string& name)
      : name_(name) {
    body_ = unseal(bytes, name);
    if (next_line() != header)
      fail("unknown record header or version (expected `" + std::string(header) + "`)");
    const auto txid_line = next_line();
    if (!txid_line.starts_with("txid ") || txid_line.size() <= 5) fail("missing txid line");
    txid_ = std::string(txid_line.substr(5));
    const auto journal_line = next_line();
    if (!journal_line.starts_with("journal ")) fail("missing journal line");
    journal_ = path(journal_line.substr(8));
    const auto root_line = next_line();
    if (!root_line.starts_with("root ")) fail("missing root line");
    root_ = path(root_line.substr(5));
  }

  bool done() const { return pos_ >= body_.size(); }
  const std::string& txid() const { return txid_; }
  const std::string& journal() const { return journal_; }
  const std::string& root() const { return root_; }

  std::string_view next_line() {
    const size_t end = body_.find('\n', pos_);
    if (end == std::string_view::npos) fail("malformed line " + std::to_string(line_ + 1));
    const std::string_view line = body_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_;
    return line;
  }

  // Splits a line into space-separated fields.
  static std::vector<std::string_view> fields(std::string_view line) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= line.size()) {
      const size_t end = std::min(line.find(' ', start), line.size());
      out.push_back(line.substr(start, end - start));
      start = end + 1;
    }
    return out;
  }

  std::string path(std::string_view field) const {
    auto out = unescape_path(field);
    if (!out) fail_line("bad %-escape");
    if (out->empty() || (*out)[0] != '/') fail_line("path is not absolute");
    return std::move(*out);
  }

  uint64_t number(std::string_view field, std::string_view key, int base = 10) const {
    if (!field.starts_with(key) || field.size() <= key.size() || field[key.size()] != '=')
      fail_line("expected " + std::string(key) + "=");
    field.remove_prefix(key.size() + 1);
    uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value, base);
    if (ec != std::errc() || ptr != field.data() + field.size())
      fail_line("bad number in " + std::string(key));
    return value;
  }

  std::optional<Hash128> hash(std::string_view field, std::string_view key) const {
    if (!field.starts_with(key) || field.size() <= key.size() || field[key.size()] != '=')
      fail_line("expected " + std::string(key) + "=");
    field.remove_prefix(key.size() + 1);
    if (field == "-") return std::nullopt;
    auto h = Hash128::from_hex(field);
    if (!h) fail_line("bad hash in " + std::string(key));
    return h;
  }

  [[noreturn]] void fail(const std::string& what) const { throw Error(Errc::journal, name_, what); }
  [[noreturn]] void fail_line(const std::string& what) const {
    fail("line " + std::to_string(line_) + ": " + what);
  }

 private:
  const std::string& name_;
  std::string_view body_;
  size_t pos_ = 0;
  int line_ = 0;
  std::string txid_;
  std::string journal_;
  std::string root_;
};

// "oldmode=OCT": the mode a directory had before a chmod or rmdir.
uint32_t old_mode(const RecordReader& reader, std::string_view field) {
  const auto mode = static_cast<uint32_t>(reader.number(field, "oldmode", 8));
  if (mode > 07777) reader.fail_line("oldmode out of range");
  return mode;
}

}  // namespace

std::string encode_intent(const IntentRecord& record) {
  std::string out = std::string(kIntentHeader) + "\ntxid " + record.txid + "\njournal " +
                    escape_path(record.journal) + "\nroot " + escape_path(record.root) + "\n";
  for (const auto& dir : record.dirs) out += "mkdir " + escape_path(dir) + "\n";
  for (const auto& shadow : record.shadows) out += "shadow " + escape_path(shadow) + "\n";
  return seal(std::move(out));
}

std::string encode_manifest(const ManifestRecord& record) {
  std::string out = std::string(kManifestHeader) + "\ntxid " + record.txid + "\njournal " +
                    escape_path(record.journal) + "\nroot " + escape_path(record.root) + "\n";
  if (record.keep) out += "keep " + std::to_string(record.keep) + "\n";
  for (const auto& dir : record.dirs) out += "mkdir " + escape_path(dir) + "\n";
  if (!record.undoes.empty()) out += "undoes " + record.undoes + "\n";
  for (const auto& e : record.entries) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", e.mode);
    const std::string ino = " ino=" + std::to_string(e.ino);
    const std::string size = " size=" + std::to_string(e.size);
    // Undo data (docs/protocol.md §7), only in a transaction that keeps it.
    const std::string old_ino = e.old_ino ? " old=" + std::to_string(*e.old_ino) : "";
    char old_mode_digits[16];
    std::snprintf(old_mode_digits, sizeof old_mode_digits, "%o", e.old_mode.value_or(0));
    const std::string old_mode = e.old_mode ? std::string(" oldmode=") + old_mode_digits : "";
    switch (e.op) {
      case ManifestEntry::Op::replace:
        out += "replace " + escape_path(e.shadow) + " " + escape_path(e.target) + ino + size +
               " mode=" + mode + " pre=" + hash_field(e.pre_hash) +
               " post=" + hash_field(e.post_hash) + old_ino + "\n";
        break;
      case ManifestEntry::Op::remove:
        out += "remove " + escape_path(e.target) + ino + size + " pre=" + hash_field(e.pre_hash) +
               "\n";
        break;
      case ManifestEntry::Op::symlink:
        out += "symlink " + escape_path(e.shadow) + " " + escape_path(e.target) + ino + size +
               " post=" + hash_field(e.post_hash) + old_ino + "\n";
        break;
      case ManifestEntry::Op::chmod:
        out += "chmod " + escape_path(e.target) + ino + " mode=" + mode + old_mode + "\n";
        break;
      case ManifestEntry::Op::rmdir:
        out += "rmdir " + escape_path(e.target) + ino + old_mode + "\n";
        break;
    }
  }
  return seal(std::move(out));
}

IntentRecord decode_intent(std::string_view bytes, const std::string& name) {
  RecordReader reader(bytes, kIntentHeader, name);
  IntentRecord record{reader.txid(), reader.journal(), reader.root(), {}, {}};
  while (!reader.done()) {
    const auto f = RecordReader::fields(reader.next_line());
    if (f.size() == 2 && f[0] == "mkdir")
      record.dirs.push_back(reader.path(f[1]));
    else if (f.size() == 2 && f[0] == "shadow")
      record.shadows.push_back(reader.path(f[1]));
    else
      reader.fail_line("unknown intent line");
  }
  return record;
}

ManifestRecord decode_manifest(std::string_view bytes, const std::string& name) {
  RecordReader reader(bytes, kManifestHeader, name);
  ManifestRecord record{reader.txid(), reader.journal(), reader.root(), {}};
  while (!reader.done()) {
    const auto f = RecordReader::fields(reader.next_line());
    ManifestEntry e;
    if (f.size() == 2 && f[0] == "keep" && record.entries.empty()) {
      record.keep = static_cast<uint32_t>(
          std::min<uint64_t>(UINT32_MAX, reader.number("keep=" + std::string(f[1]), "keep")));
      continue;
    }
    if (f.size() == 2 && f[0] == "mkdir" && record.entries.empty()) {
      record.dirs.push_back(reader.path(f[1]));
      continue;
    }
    if (f.size() == 2 && f[0] == "undoes" && record.entries.empty()) {
      record.undoes = std::string(f[1]);
      continue;
    }
    if ((f.size() == 8 || f.size() == 9) && f[0] == "replace") {
      e.op = ManifestEntry::Op::replace;
      e.shadow = reader.path(f[1]);
      e.target = reader.path(f[2]);
      e.ino = reader.number(f[3], "ino");
      e.size = reader.number(f[4], "size");
      e.mode = static_cast<uint32_t>(reader.number(f[5], "mode", 8));
      if (e.mode > 07777) reader.fail_line("mode out of range");
      e.pre_hash = reader.hash(f[6], "pre");
      e.post_hash = reader.hash(f[7], "post");
      if (f.size() == 9) e.old_ino = reader.number(f[8], "old");
    } else if (f.size() == 5 && f[0] == "remove") {
      e.op = ManifestEntry::Op::remove;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
      e.size = reader.number(f[3], "size");
      e.pre_hash = reader.hash(f[4], "pre");
    } else if ((f.size() == 6 || f.size() == 7) && f[0] == "symlink") {
      e.op = ManifestEntry::Op::symlink;
      e.shadow = reader.path(f[1]);
      e.target = reader.path(f[2]);
      e.ino = reader.number(f[3], "ino");
      e.size = reader.number(f[4], "size");
      e.mode = 0777;
      e.post_hash = reader.hash(f[5], "post");
      if (!e.post_hash) reader.fail_line("a symlink needs its post= hash");
      if (f.size() == 7) e.old_ino = reader.number(f[6], "old");
    } else if ((f.size() == 4 || f.size() == 5) && f[0] == "chmod") {
      e.op = ManifestEntry::Op::chmod;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
      e.mode = static_cast<uint32_t>(reader.number(f[3], "mode", 8));
      if (e.mode > 07777) reader.fail_line("mode out of range");
      if (f.size() == 5) e.old_mode = old_mode(reader, f[4]);
    } else if ((f.size() == 3 || f.size() == 4) && f[0] == "rmdir") {
      e.op = ManifestEntry::Op::rmdir;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
      if (f.size() == 4) e.old_mode = old_mode(reader, f[3]);
    } else {
      reader.fail_line("unknown manifest line");
    }
    record.entries.push_back(std::move(e));
  }
  return record;
}

}  // namespace bpatch::journal
