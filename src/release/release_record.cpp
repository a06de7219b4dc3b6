// Encoding of the release record (release_record.hpp).
#include "release/release_record.hpp"

#include <vector>

#include "bpatch/error.hpp"
#include "journal/record_text.hpp"

namespace bpatch::release {
namespace {

constexpr std::string_view kHeader = "bpatch-release 1";

}  // namespace

std::string encode_release(const ReleaseRecord& r) {
  std::string body = std::string(kHeader) + "\n";
  auto line = [&](std::string_view key, std::string_view value) {
    body += key;
    body += ' ';
    body += journal::escape_path(value);
    body += '\n';
  };
  line("txid", r.txid);
  line("journal", r.journal);
  line("link", r.link);
  line("old", r.old_dir);
  line("new", r.new_dir);
  line("old-target", r.old_target);
  line("new-target", r.new_target);
  return journal::seal(std::move(body));
}

ReleaseRecord decode_release(std::string_view bytes, const std::string& name) {
  auto fail = [&](const std::string& why) -> void { throw Error(Errc::journal, name, why); };
  const std::string_view body = journal::unseal(bytes, name);

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
    auto value = journal::unescape_path(l.substr(key.size()));
    if (!value) fail("line " + std::to_string(i + 2) + ": bad %-escape");
    values[i] = std::move(*value);
  }
  ReleaseRecord r{values[0], values[1], values[2], values[3], values[4], values[5], values[6]};
  for (const std::string* p : {&r.journal, &r.link, &r.old_dir, &r.new_dir})
    if (p->empty() || (*p)[0] != '/') fail("a path of the record is not absolute: " + *p);
  return r;
}

}  // namespace bpatch::release
