// EditList against a naive model: every op is also applied to a plain byte
// vector, and emit() must reproduce it byte for byte. Plus the boundaries,
// the piece invariants, laziness on a huge original, speed, and the script
// wrappers apply_edit_op / open_data.
#include "edit/edit_list.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "bpatch/error.hpp"
#include "bpatch/posix_file_system.hpp"

using bpatch::EditList;
using bpatch::EditOp;
using bpatch::Errc;
using bpatch::Piece;
using Bytes = std::vector<std::byte>;

namespace {

Bytes random_bytes(std::mt19937_64& rng, size_t n) {
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

std::shared_ptr<const bpatch::Source> blob(Bytes bytes) {
  return std::make_shared<bpatch::MemorySource>(std::move(bytes), "<blob>");
}

// The naive model: each op applied to a vector. Returns false (and leaves
// the vector alone) where EditList must throw.
bool model_apply(Bytes& f, const EditOp& op, const Bytes& data) {
  const uint64_t size = f.size();
  switch (op.kind) {
    case EditOp::Kind::write:
      if (op.offset > size) return false;
      if (op.offset + data.size() > size) f.resize(op.offset + data.size());
      std::copy(data.begin(), data.end(), f.begin() + static_cast<ptrdiff_t>(op.offset));
      return true;
    case EditOp::Kind::fill:
      if (op.offset > size) return false;
      if (op.offset + op.length > size) f.resize(op.offset + op.length);
      std::fill_n(f.begin() + static_cast<ptrdiff_t>(op.offset), op.length, op.value);
      return true;
    case EditOp::Kind::insert:
      if (op.offset > size) return false;
      f.insert(f.begin() + static_cast<ptrdiff_t>(op.offset), data.begin(), data.end());
      return true;
    case EditOp::Kind::erase:
      if (op.offset > size || op.length > size - op.offset) return false;
      f.erase(f.begin() + static_cast<ptrdiff_t>(op.offset),
              f.begin() + static_cast<ptrdiff_t>(op.offset + op.length));
      return true;
    case EditOp::Kind::truncate:
      f.resize(op.length, std::byte{0});
      return true;
    case EditOp::Kind::append:
      f.insert(f.end(), data.begin(), data.end());
      return true;
  }
  return false;
}

void list_apply(EditList& list, const EditOp& op,
                const std::shared_ptr<const bpatch::Source>& data) {
  switch (op.kind) {
    case EditOp::Kind::write:
      list.write(op.offset, data);
      break;
    case EditOp::Kind::fill:
      list.fill(op.offset, op.length, op.value);
      break;
    case EditOp::Kind::insert:
      list.insert(op.offset, data);
      break;
    case EditOp::Kind::erase:
      list.erase(op.offset, op.length);
      break;
    case EditOp::Kind::truncate:
      list.truncate(op.length);
      break;
    case EditOp::Kind::append:
      list.append(data);
      break;
  }
}

// Pieces are non-empty, add up to size(), stay inside their sources, and no
// two neighbours could have been one piece.
void check_invariants(const EditList& list, uint64_t original_size) {
  uint64_t total = 0;
  const auto& pieces = list.pieces();
  for (size_t i = 0; i < pieces.size(); ++i) {
    const Piece& p = pieces[i];
    REQUIRE(p.length > 0);
    total += p.length;
    if (p.kind == Piece::Kind::source) REQUIRE(p.offset + p.length <= original_size);
    if (p.kind == Piece::Kind::blob) REQUIRE(p.offset + p.length <= p.blob->size());
    if (i == 0) continue;
    const Piece& q = pieces[i - 1];
    if (q.kind != p.kind) continue;
    if (p.kind == Piece::Kind::fill) REQUIRE(q.value != p.value);
    if (p.kind == Piece::Kind::source) REQUIRE(q.offset + q.length != p.offset);
    if (p.kind == Piece::Kind::blob) REQUIRE((q.blob != p.blob || q.offset + q.length != p.offset));
  }
  REQUIRE(total == list.size());
}

Bytes emit(const EditList& list, const Bytes& original) {
  bpatch::MemorySource src(std::span<const std::byte>(original), "<original>");
  bpatch::MemorySink sink;
  list.emit(src, sink);
  return sink.data();
}

EditOp random_op(std::mt19937_64& rng, uint64_t size) {
  EditOp op;
  op.kind = static_cast<EditOp::Kind>(rng() % 6);
  // Mostly in range, sometimes at or just past the end.
  const auto pick = [&](uint64_t limit) -> uint64_t {
    const auto r = rng() % 10;
    if (r == 0) return limit;
    if (r == 1) return limit + 1 + rng() % 3;
    return limit == 0 ? 0 : rng() % (limit + 1);
  };
  op.offset = pick(size);
  op.length =
      op.kind == EditOp::Kind::erase ? pick(size > op.offset ? size - op.offset : 0) : rng() % 40;
  if (op.kind == EditOp::Kind::truncate) op.length = pick(size + 20);
  op.value = static_cast<std::byte>(rng() % 3);  // few values: adjacent fills merge
  return op;
}

}  // namespace

TEST_CASE("EditList matches a naive model over random op sequences", "[edit]") {
  std::mt19937_64 rng(20240601);
  // Shared blobs, reused by several ops, so that blob pieces can meet again.
  std::vector<Bytes> blob_bytes;
  std::vector<std::shared_ptr<const bpatch::Source>> blobs;
  for (size_t n : {0, 1, 2, 7, 33}) {
    blob_bytes.push_back(random_bytes(rng, n));
    blobs.push_back(blob(blob_bytes.back()));
  }
  size_t ops_done = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    const size_t size = round % 10 == 0 ? 0 : rng() % 300;
    const Bytes original = random_bytes(rng, size);
    Bytes model = original;
    EditList list(size);
    const int count = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < count; ++i) {
      const EditOp op = random_op(rng, model.size());
      const size_t which = rng() % (blobs.size() + 1);
      const Bytes data = which < blobs.size() ? blob_bytes[which] : random_bytes(rng, rng() % 16);
      const auto source = which < blobs.size() ? blobs[which] : blob(data);
      const bool ok = model_apply(model, op, data);
      if (ok) {
        list_apply(list, op, source);
        ++ops_done;
      } else {
        const auto before = list.pieces().size();
        REQUIRE_THROWS_AS(list_apply(list, op, source), bpatch::Error);
        REQUIRE(list.pieces().size() == before);
        ++rejected;
      }
      REQUIRE(list.size() == model.size());
      check_invariants(list, size);
    }
    REQUIRE(emit(list, original) == model);
  }
  CHECK(rejected > 1000);  // the out-of-range paths were exercised
  CHECK(ops_done > 30000);
}

TEST_CASE("EditList boundaries", "[edit]") {
  const Bytes original{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
  const auto ab = blob({std::byte{0xa}, std::byte{0xb}});
  const auto b = [](std::initializer_list<int> v) {
    Bytes out;
    for (int x : v) out.push_back(static_cast<std::byte>(x));
    return out;
  };

  SECTION("write exactly at the end extends") {
    EditList list(4);
    list.write(4, ab);
    CHECK(emit(list, original) == b({1, 2, 3, 4, 0xa, 0xb}));
  }
  SECTION("write one past the end is refused with the numbers") {
    EditList list(4);
    try {
      list.write(5, ab);
      FAIL("no throw");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == Errc::usage);
      CHECK_THAT(e.message(), Catch::Contains("offset 5") && Catch::Contains("size 4"));
    }
  }
  SECTION("write overlapping the end extends") {
    EditList list(4);
    list.write(3, ab);
    CHECK(emit(list, original) == b({1, 2, 3, 0xa, 0xb}));
  }
  SECTION("erase to the end, then erase nothing at the end") {
    EditList list(4);
    list.erase(1, 3);
    list.erase(1, 0);
    CHECK(emit(list, original) == b({1}));
    CHECK_THROWS_AS(list.erase(0, 2), bpatch::Error);
  }
  SECTION("truncate to 0 then append") {
    EditList list(4);
    list.truncate(0);
    CHECK(list.pieces().empty());
    list.append(ab);
    CHECK(emit(list, original) == b({0xa, 0xb}));
  }
  SECTION("insert at 0 and at the end") {
    EditList list(4);
    list.insert(0, ab);
    list.insert(6, ab);
    CHECK(emit(list, original) == b({0xa, 0xb, 1, 2, 3, 4, 0xa, 0xb}));
  }
  SECTION("truncate extends with zeros and merges with a zero fill") {
    EditList list(2);
    list.truncate(4);
    list.fill(4, 2, std::byte{0});
    CHECK(emit(list, b({1, 2})) == b({1, 2, 0, 0, 0, 0}));
    CHECK(list.pieces().size() == 2);
  }
  SECTION("deleting an inserted blob restores the single source piece") {
    EditList list(4);
    list.insert(2, ab);
    list.erase(2, 2);
    REQUIRE(list.pieces().size() == 1);
    CHECK(list.pieces()[0].length == 4);
  }
  SECTION("an empty original and empty ops") {
    EditList list(0);
    list.write(0, blob({}));
    list.fill(0, 0, std::byte{7});
    list.erase(0, 0);
    list.truncate(0);
    CHECK(list.pieces().empty());
    CHECK(emit(list, {}).empty());
  }
  SECTION("64-bit overflow is refused") {
    EditList list(4);
    CHECK_THROWS_AS(list.fill(4, UINT64_MAX, std::byte{1}), bpatch::Error);
    list.truncate(UINT64_MAX - 1);
    CHECK_THROWS_AS(list.append(ab), bpatch::Error);
    CHECK_THROWS_AS(list.insert(0, ab), bpatch::Error);
  }
  SECTION("emit refuses an original of another size") {
    EditList list(5);
    bpatch::MemorySource src{std::span<const std::byte>(original)};
    bpatch::MemorySink sink;
    try {
      list.emit(src, sink);
      FAIL("no throw");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == Errc::concurrent_change);
    }
  }
}

namespace {

// A huge original that costs no memory: byte i is i mod 251.
class PatternSource final : public bpatch::Source {
 public:
  explicit PatternSource(uint64_t size) : size_(size) {}
  uint64_t size() const override { return size_; }
  void read(uint64_t offset, std::span<std::byte> out) const override {
    bpatch::check_range(*this, offset, out.size());
    for (auto& b : out) b = static_cast<std::byte>(offset++ % 251);
  }
  const std::string& name() const override { return name_; }

 private:
  uint64_t size_;
  std::string name_ = "<pattern>";
};

// Records the calls emit() makes instead of storing bytes.
class CallSink final : public bpatch::Sink {
 public:
  std::vector<std::string> calls;
  void write(std::span<const std::byte> data) override {
    calls.push_back("write " + std::to_string(data.size()));
    size_ += data.size();
  }
  void write_from(const bpatch::Source& src, uint64_t offset, uint64_t length) override {
    calls.push_back("from " + src.name() + " " + std::to_string(offset) + " " +
                    std::to_string(length));
    size_ += length;
  }
  void write_fill(std::byte value, uint64_t length) override {
    calls.push_back("fill " + std::to_string(static_cast<int>(value)) + " " +
                    std::to_string(length));
    size_ += length;
  }
  void read_back(uint64_t, std::span<std::byte>) override {}
  uint64_t size() const override { return size_; }

 private:
  uint64_t size_ = 0;
};

}  // namespace

TEST_CASE("EditList emits ranges, not bytes: a small edit of a 1 TiB file is three calls",
          "[edit]") {
  const uint64_t tib = uint64_t{1} << 40;
  PatternSource original(tib);
  EditList list(tib);
  list.write(tib / 2, blob({std::byte{1}, std::byte{2}}));
  list.fill(tib - 8, 16, std::byte{0xff});
  CallSink sink;
  list.emit(original, sink);
  CHECK(sink.calls == std::vector<std::string>{"from <pattern> 0 549755813888", "from <blob> 0 2",
                                               "from <pattern> 549755813890 549755813878",
                                               "fill 255 16"});
  CHECK(sink.size() == tib + 8);
}

TEST_CASE("EditList: 10,000 scattered ops on one file stay fast", "[edit]") {
  std::mt19937_64 rng(7);
  EditList list(1 << 20);
  const auto data = blob(random_bytes(rng, 8));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) {
    const uint64_t at = rng() % list.size();
    switch (i % 4) {
      case 0:
        list.write(at, data);
        break;
      case 1:
        list.insert(at, data);
        break;
      case 2:
        list.fill(at, 3, std::byte{9});
        break;
      case 3:
        list.erase(at, std::min<uint64_t>(5, list.size() - at));
        break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("pieces: " << list.pieces().size() << ", seconds: " << seconds);
  CHECK(list.pieces().size() > 10000);
  // The target is < 0.5 s in an optimized build; the bound leaves room for
  // sanitizer and debug builds but still catches a quadratic blow-up in copies.
  CHECK(seconds < 2.0);
}

TEST_CASE("apply_edit_op names the script line and opens file: data", "[edit]") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("bpatch-edit-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "blob.bin", std::ios::binary) << "XYZ"; }
  bpatch::PosixFileSystem pfs;
  EditList list(4);
  const Bytes original{std::byte{'a'}, std::byte{'b'}, std::byte{'c'}, std::byte{'d'}};

  EditOp op;
  op.kind = EditOp::Kind::insert;
  op.offset = 1;
  op.data.file = (dir / "blob.bin").string();
  op.origin = "s.bpatch:3";
  bpatch::apply_edit_op(list, op, pfs);
  op = EditOp{};
  op.kind = EditOp::Kind::append;
  op.data.bytes = {std::byte{'!'}};
  bpatch::apply_edit_op(list, op, pfs);
  const Bytes want{std::byte{'a'}, std::byte{'X'}, std::byte{'Y'}, std::byte{'Z'},
                   std::byte{'b'}, std::byte{'c'}, std::byte{'d'}, std::byte{'!'}};
  CHECK(emit(list, original) == want);

  SECTION("out of range: script_syntax with the origin and the numbers") {
    op = EditOp{};
    op.kind = EditOp::Kind::erase;
    op.offset = 6;
    op.length = 5;
    op.origin = "s.bpatch:9";
    try {
      bpatch::apply_edit_op(list, op, pfs);
      FAIL("no throw");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == Errc::script_syntax);
      CHECK_THAT(e.message(), Catch::StartsWith("s.bpatch:9: ") && Catch::Contains("size 8"));
    }
  }
  SECTION("a missing blob keeps its code and path") {
    op = EditOp{};
    op.kind = EditOp::Kind::write;
    op.data.file = (dir / "missing.bin").string();
    op.origin = "s.bpatch:4";
    try {
      bpatch::apply_edit_op(list, op, pfs);
      FAIL("no throw");
    } catch (const bpatch::Error& e) {
      CHECK(e.code() == Errc::not_found);
      CHECK(e.path() == op.data.file);
      CHECK_THAT(e.message(), Catch::StartsWith("s.bpatch:4: "));
    }
  }
  SECTION("without an origin the error is passed through") {
    op = EditOp{};
    op.kind = EditOp::Kind::write;
    op.offset = 100;
    op.data.bytes = {std::byte{1}};
    CHECK_THROWS_MATCHES(bpatch::apply_edit_op(list, op, pfs), bpatch::Error,
                         Catch::Predicate<bpatch::Error>(
                             [](const bpatch::Error& e) { return e.code() == Errc::usage; }));
  }
  fs::remove_all(dir);
}

TEST_CASE("EditList: 160,000 ops at random offsets cost O(log n) each", "[edit][trust]") {
  // Issue 9: a vector of pieces made this quadratic (160k ops: 50 s).
  std::mt19937_64 rng(160);
  EditList list(64 << 20);
  const auto data = blob(random_bytes(rng, 8));
  // This thread's CPU time, not wall time: other processes on a loaded CI
  // machine must not make the check fail (it guards the order, ~1 s vs ~50 s).
  const auto cpu_seconds = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  };
  const double start = cpu_seconds();
  for (int i = 0; i < 160000; ++i) {
    const uint64_t at = rng() % list.size();
    if (i % 2 == 0)
      list.insert(at, data);
    else
      list.write(at, data);
  }
  const double seconds = cpu_seconds() - start;
  INFO("pieces: " << list.piece_count() << ", CPU seconds: " << seconds);
  CHECK(list.piece_count() > 160000);
  CHECK(list.size() == (64u << 20) + 80000u * 8u);
  // About 1 s optimized on a busy machine; quadratic was ~50 s. Sanitizers
  // slow every op several times over, without changing the order.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
  CHECK(seconds < 15.0);
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
  CHECK(seconds < 15.0);
#else
  CHECK(seconds < 3.0);
#endif
#else
  CHECK(seconds < 3.0);
#endif
}
