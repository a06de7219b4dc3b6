// Reads the sync site names out of src/ (sync_sites.hpp).
#include "testing/sync_sites.hpp"

#include <filesystem>
#include <regex>

#include "testing/test_files.hpp"

namespace bpatch::testing {

std::set<std::string> sync_sites_in_source(const std::vector<std::string>& prefixes) {
  std::string alternatives;
  for (const auto& p : prefixes) alternatives += (alternatives.empty() ? "" : "|") + p;
  const std::regex literal("\"((" + alternatives + ")\\.[a-z.]+)\"");
  std::set<std::string> out;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(source_dir() + "/src")) {
    if (!entry.is_regular_file()) continue;
    const std::string text = read_file(entry.path().string());
    if (text.find("sync") == std::string::npos) continue;
    for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it)
      out.insert((*it)[1]);
  }
  return out;
}

}  // namespace bpatch::testing
