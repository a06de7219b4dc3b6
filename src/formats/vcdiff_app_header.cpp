// xdelta3's application header: parsing and the external-compression check.
#include "formats/vcdiff_app_header.hpp"

#include <cstring>
#include <vector>

namespace bpatch::vcdiff {

std::optional<Xdelta3AppHeader> parse_xdelta3_app_header(const std::string& header) {
  std::vector<std::string> fields;
  size_t start = 0;
  while (fields.size() < 3) {
    const size_t slash = header.find('/', start);
    if (slash == std::string::npos) break;
    fields.push_back(header.substr(start, slash - start));
    start = slash + 1;
  }
  fields.push_back(header.substr(start));
  if (fields.size() != 2 && fields.size() != 4) return std::nullopt;
  Xdelta3AppHeader h;
  h.name = fields[0];
  h.comp = fields[1];
  if (fields.size() == 4) {
    h.source_name = fields[2];
    h.source_comp = fields[3];
  }
  return h;
}

const char* external_compressor_name(const std::string& ident) {
  // xdelta3-main.c's table of external compressors (ident -> program).
  static const struct {
    const char* ident;
    const char* name;
  } kTable[] = {{"B", "bzip2"}, {"G", "gzip"}, {"Z", "compress"}, {"Y", "xz"}};
  for (const auto& e : kTable)
    if (ident == e.ident) return e.name;
  return nullptr;
}

std::optional<std::string> external_compression_problem(const std::string& app_header) {
  const auto h = parse_xdelta3_app_header(app_header);
  if (!h) return std::nullopt;
  const char* out = external_compressor_name(h->comp);
  const char* src = external_compressor_name(h->source_comp);
  if (!out && !src) return std::nullopt;
  std::string why = "xdelta3 made this patch from decompressed files (application header \"" +
                    app_header + "\"):";
  if (src) why += std::string(" the source ") + h->source_name + " was decompressed with " + src;
  if (src && out) why += " and";
  if (out)
    why += std::string(" the result must be recompressed with ") + out + " to give " + h->name;
  return why +
         "; bpatch runs no external program, so re-create the patch with `xdelta3 -e -D -R` "
         "(or decompress the files and diff those)";
}

}  // namespace bpatch::vcdiff
