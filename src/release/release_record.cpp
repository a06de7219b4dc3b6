// Encoding of the release record (release_record.hpp).
#include "release/release_record.hpp"

#include <vector>

#include "bpatch/error.hpp"
#include "bpatch/hash.hpp"

namespace bpatch::release {
namespace {

constexpr std::string_view kHeader = "bpatch-release 1";
constexpr std::string_view kChecksum = "checksum ";

std::string escape(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
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

std::string checksum_of(std::string_view body) {
  return hash_bytes(std::as_bytes(std::span(body.data(), body.size()))).hex();
}

}  // namespace

std::string encode_release(const ReleaseRecord& r) {
  std::string body = std::string(kHeader) + "\n";
  auto line = [&](std::string_view key, std::string_view value) {
    body += key;
    body += ' ';
    body += escape(value);
    body += '\n';
  };
  line("txid", r.txid);
  line("journal", r.journal);
  line("link", r.link);
  line("old", r.old_dir);
  line("new", r.new_dir);
  line("old-target", r.old_target);
  line("new-target", r.new_target);
  const std::string sum = checksum_of(body);
  return body + std::string(kChecksum) + sum + "\n";
}

ReleaseRecord decode_release(std::string_view bytes, const std::string& name) {
  auto fail = [&](const std::string& why) -> void { throw Error(Errc::journal, name, why); };
  if (bytes.empty() || bytes.back() != '\n') fail("torn record (no final newline)");
  const size_t last = bytes.rfind('\n', bytes.size() - 2);
  const size_t sum_start = last == std::string_view::npos ? 0 : last + 1;
  const std::string_view sum_line = bytes.substr(sum_start, bytes.size() - 1 - sum_start);
  const std::string_view body = bytes.substr(0, sum_start);
  // Compared as text, so that only the canonical form passes.
  if (!sum_line.starts_with(kChecksum) || sum_line.substr(kChecksum.size()) != checksum_of(body))
    fail("torn or damaged record (checksum mismatch)");

  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < body.size();) {
    const size_t end = body.find('\n', pos);
    lines.push_back(body.substr(pos, end - pos));
    pos = end + 1;
  }
  static const char* const kKeys[] = {"txid", "journal",    "link",      "old",
                                      "new",  "old-target", "new-target"};
  if (lines.size() != 1 + std::size(kKeys) || lines[0] != kHeader)
    fail("unknown record header, version or layout (expected `bpatch-release 1`)");
  std::string values[std::size(kKeys)];
  for (size_t i = 0; i < std::size(kKeys); ++i) {
    const std::string_view l = lines[i + 1];
    const std::string key = std::string(kKeys[i]) + " ";
    if (!l.starts_with(key) || l.size() == key.size())
      fail("line " + std::to_string(i + 2) + ": expected `" + kKeys[i] + " …`");
    const std::string_view field = l.substr(key.size());
    for (size_t j = 0; j < field.size(); ++j) {
      if (field[j] != '%') {
        values[i] += field[j];
        continue;
      }
      const int hi = j + 2 < field.size() ? hex_value(field[j + 1]) : -1;
      const int lo = j + 2 < field.size() ? hex_value(field[j + 2]) : -1;
      if (hi < 0 || lo < 0) fail("line " + std::to_string(i + 2) + ": bad %-escape");
      values[i] += static_cast<char>(hi * 16 + lo);
      j += 2;
    }
  }
  ReleaseRecord r{values[0], values[1], values[2], values[3], values[4], values[5], values[6]};
  for (const std::string* p : {&r.journal, &r.link, &r.old_dir, &r.new_dir})
    if (p->empty() || (*p)[0] != '/') fail("a path of the record is not absolute: " + *p);
  return r;
}

}  // namespace bpatch::release
