// A one-line progress bar on stderr (bytes, files, rate, ETA), shown only
// when stderr is a terminal and the work is large; silent otherwise.
#pragma once

#include <chrono>
#include <cstdint>

#include "bpatch/transaction.hpp"

namespace bpatch::cli {

class ProgressBar {
 public:
  // enabled: the caller's decision (not quiet, not json); the bar also
  // requires a terminal on stderr.
  explicit ProgressBar(bool enabled);
  ~ProgressBar() { clear(); }

  void update(const Progress& p);
  // Erases the bar's line, if one was drawn, so that a report can follow.
  void clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace bpatch::cli
