#include "journal/records.hpp"

#include <charconv>
#include <cstdio>

#include "bpatch/error.hpp"

namespace bpatch::journal {
namespace {

constexpr std::string_view kIntentHeader = "bpatch-intent 2";
constexpr std::string_view kManifestHeader = "bpatch-manifest 2";
constexpr std::string_view kChecksumPrefix = "checksum ";

std::string escape_path(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : path) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b == '%' || b == 0x7f) {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string hash_field(const std::optional<Hash128>& h) { return h ? h->hex() : "-"; }

std::string seal(std::string body) {
  const Hash128 sum = hash_bytes(std::as_bytes(std::span(body.data(), body.size())));
  body += kChecksumPrefix;
  body += sum.hex();
  body += '\n';
  return body;
}

// Reads one record's lines after checking its header and checksum.
class RecordReader {
 public:
  RecordReader(std::string_view bytes, std::string_view header, const std::string& name)
      : name_(name) {
    // The checksum line is the last line; everything before it is covered.
    if (bytes.empty() || bytes.back() != '\n') fail("torn record (no final newline)");
    const size_t last = bytes.rfind('\n', bytes.size() - 2);
    const size_t sum_start = last == std::string_view::npos ? 0 : last + 1;
    const std::string_view sum_line = bytes.substr(sum_start, bytes.size() - 1 - sum_start);
    if (!sum_line.starts_with(kChecksumPrefix)) fail("torn record (no checksum line)");
    const std::string_view body = bytes.substr(0, sum_start);
    // Compared as text: the canonical lowercase form only, so that no
    // damaged byte of the checksum line itself can pass.
    if (sum_line.substr(kChecksumPrefix.size()) !=
        hash_bytes(std::as_bytes(std::span(body.data(), body.size()))).hex())
      fail("checksum mismatch (torn or damaged record)");
    body_ = body;
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
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
      if (field[i] != '%') {
        out += field[i];
        continue;
      }
      if (i + 2 >= field.size()) fail_line("bad %-escape");
      const int hi = hex_value(field[i + 1]), lo = hex_value(field[i + 2]);
      if (hi < 0 || lo < 0) fail_line("bad %-escape");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (out.empty() || out[0] != '/') fail_line("path is not absolute");
    return out;
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
  for (const auto& e : record.entries) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "%o", e.mode);
    const std::string ino = " ino=" + std::to_string(e.ino);
    const std::string size = " size=" + std::to_string(e.size);
    switch (e.op) {
      case ManifestEntry::Op::replace:
        out += "replace " + escape_path(e.shadow) + " " + escape_path(e.target) + ino + size +
               " mode=" + mode + " pre=" + hash_field(e.pre_hash) +
               " post=" + hash_field(e.post_hash) + "\n";
        break;
      case ManifestEntry::Op::remove:
        out += "remove " + escape_path(e.target) + ino + size + " pre=" + hash_field(e.pre_hash) +
               "\n";
        break;
      case ManifestEntry::Op::symlink:
        out += "symlink " + escape_path(e.shadow) + " " + escape_path(e.target) + ino + size +
               " post=" + hash_field(e.post_hash) + "\n";
        break;
      case ManifestEntry::Op::chmod:
        out += "chmod " + escape_path(e.target) + ino + " mode=" + mode + "\n";
        break;
      case ManifestEntry::Op::rmdir:
        out += "rmdir " + escape_path(e.target) + ino + "\n";
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
    if (f.size() == 8 && f[0] == "replace") {
      e.op = ManifestEntry::Op::replace;
      e.shadow = reader.path(f[1]);
      e.target = reader.path(f[2]);
      e.ino = reader.number(f[3], "ino");
      e.size = reader.number(f[4], "size");
      e.mode = static_cast<uint32_t>(reader.number(f[5], "mode", 8));
      if (e.mode > 07777) reader.fail_line("mode out of range");
      e.pre_hash = reader.hash(f[6], "pre");
      e.post_hash = reader.hash(f[7], "post");
    } else if (f.size() == 5 && f[0] == "remove") {
      e.op = ManifestEntry::Op::remove;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
      e.size = reader.number(f[3], "size");
      e.pre_hash = reader.hash(f[4], "pre");
    } else if (f.size() == 6 && f[0] == "symlink") {
      e.op = ManifestEntry::Op::symlink;
      e.shadow = reader.path(f[1]);
      e.target = reader.path(f[2]);
      e.ino = reader.number(f[3], "ino");
      e.size = reader.number(f[4], "size");
      e.mode = 0777;
      e.post_hash = reader.hash(f[5], "post");
      if (!e.post_hash) reader.fail_line("a symlink needs its post= hash");
    } else if (f.size() == 4 && f[0] == "chmod") {
      e.op = ManifestEntry::Op::chmod;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
      e.mode = static_cast<uint32_t>(reader.number(f[3], "mode", 8));
      if (e.mode > 07777) reader.fail_line("mode out of range");
    } else if (f.size() == 3 && f[0] == "rmdir") {
      e.op = ManifestEntry::Op::rmdir;
      e.target = reader.path(f[1]);
      e.ino = reader.number(f[2], "ino");
    } else {
      reader.fail_line("unknown manifest line");
    }
    record.entries.push_back(std::move(e));
  }
  return record;
}

}  // namespace bpatch::journal
