// Stacked changes: grouping by target, planning the later changes of a
// chain, and streaming a chain through its scratch files (txn/chain.hpp).
#include "txn/chain.hpp"

#include <algorithm>
#include <cstring>
#include <map>

#include "base/paths.hpp"
#include "bpatch/error.hpp"
#include "bpatch/format.hpp"
#include "edit/edit_list.hpp"
#include "journal/journal.hpp"
#include "txn/shadow_file.hpp"

namespace bpatch {
namespace {

using Kind = Change::Kind;
constexpr size_t npos = static_cast<size_t>(-1);

bool content_change(Kind kind) {
  return kind == Kind::edit || kind == Kind::delta || kind == Kind::put;
}

// "update.bpatch:12", or "change 3" for a change no script made.
std::string named(const Change& c, size_t index) {
  return c.origin.empty() ? "change " + std::to_string(index + 1) : c.origin;
}

[[noreturn]] void refuse(const Change& c, const std::string& path, const std::string& why) {
  throw Error(Errc::usage, path, (c.origin.empty() ? "" : c.origin + ": ") + why);
}

Hash128 hash_source(const Source& src) {
  Hasher hasher;
  std::vector<std::byte> buffer(1 << 20);
  for (uint64_t at = 0; at < src.size();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), src.size() - at));
    src.read(at, std::span(buffer.data(), n));
    hasher.update(std::span(buffer.data(), n));
    at += n;
  }
  return hasher.digest();
}

// What a chain's first change produces, when validation knows its size.
std::optional<uint64_t> output_size_of(FileSystem& fs, const PlannedChange& p) {
  switch (p.change->kind) {
    case Kind::edit:
      return p.edits ? std::optional(p.edits->size()) : std::nullopt;
    case Kind::put:
      return p.expected_size;
    case Kind::move:
    case Kind::copy:
      return p.source_stat ? std::optional(p.source_stat->id.size) : std::nullopt;
    case Kind::delta:
      return inspect_patch(*open_source(fs, p.change->patch)).target_size;
    default:  // no content: never first in a chain
      break;
  }
  return std::nullopt;
}

// The chain as a whole is idempotent: a target that already has the last
// change's result= (and the chain's final mode) needs none of it. One that
// has neither that nor the first change's expect= is refused, naming both.
bool chain_already_applied(FileSystem& fs, const TransactionOptions& options,
                           std::vector<PlannedChange>& plan, const std::vector<size_t>& chain) {
  const Change& first = *plan[chain.front()].change;
  const Change& last = *plan[chain.back()].change;
  if (!last.result) return false;
  const auto resolved = paths::resolve_in_root(fs, options.root, first.target, true);
  const std::string journal = journal::dir_for(options.root, options.journal);
  if (!resolved.stat || resolved.stat->type != FileType::regular ||
      resolved.path.starts_with(journal + "/"))
    return false;  // planned as usual, which says what is wrong
  if (first.kind == Kind::move && paths::resolve_in_root(fs, options.root, first.from, true).stat)
    return false;  // not moved yet
  std::optional<uint32_t> mode;
  for (size_t i : chain)
    if (plan[i].change->mode) mode = plan[i].change->mode;
  const Hash128 hash = hash_file(fs, resolved.path);
  if (hash == *last.result && (!mode || *mode == resolved.stat->mode)) {
    for (size_t i : chain) {
      PlannedChange& p = plan[i];
      p.target = resolved.path;
      p.target_stat = resolved.stat;
      p.pre_hash = p.post_hash = hash;
      p.unchanged = true;
      p.stacked = i != chain.back();
      p.note = "already up to date";
    }
    return true;
  }
  if (first.expect && content_change(first.kind) && hash != *first.expect)
    throw Error(Errc::wrong_source, resolved.path,
                "is neither the old version (expect=xxh3:" + first.expect->hex() + " of " +
                    named(first, chain.front()) +
                    ") nor the new one (result=xxh3:" + last.result->hex() + " of " +
                    named(last, chain.back()) + "): the file hashes to xxh3:" + hash.hex());
  return false;
}

// Validation of a later change of a chain, reading what `prev` produces:
// its own inputs, and — when the size of its input is known — its edits
// compiled and its patch's source size compared. What needs the input's
// bytes (a patch's source checksum, expect=) is checked while staging.
void plan_stacked(FileSystem& fs, const Change& change, const PlannedChange& head,
                  const PlannedChange& prev, PlannedChange& step) {
  check_change_inputs(fs, change);
  step.target = head.target;
  step.target_stat = head.target_stat;
  step.mode = change.mode.value_or(prev.mode);
  const std::optional<uint64_t> input = prev.output_size;
  switch (change.kind) {
    case Kind::edit:
      if (input) {
        step.edits.emplace(*input);
        for (const auto& op : change.edits) apply_edit_op(*step.edits, op, fs);
        step.output_size = step.expected_size = step.edits->size();
      }
      break;
    case Kind::delta: {
      const PatchInfo info = inspect_patch(*open_source(fs, change.patch));
      if (info.source_size && input && *info.source_size != *input)
        throw Error(Errc::wrong_source, head.target,
                    "the patch " + change.patch + " is made for a file of " +
                        std::to_string(*info.source_size) + " bytes, but the change before it " +
                        "leaves " + std::to_string(*input) + " bytes");
      step.output_size = info.target_size;
      step.expected_size = info.target_size.value_or(0);
      break;
    }
    case Kind::put: {
      const auto content = open_data(change.content, fs);
      step.output_size = step.expected_size = content->size();
      break;
    }
    default:
      throw Error(Errc::usage, head.target, "only edit, delta and put stack onto earlier changes");
  }
}

// A dry run's intermediate result: in memory, bounded.
class ScratchInMemory final : public Sink {
 public:
  static constexpr uint64_t kLimit = 64 << 20;
  explicit ScratchInMemory(const std::string& target) : target_(target) {}
  void write(std::span<const std::byte> data) override {
    if (data.size() > kLimit - data_.size())
      throw Error(Errc::unsupported, target_,
                  "a dry run keeps each intermediate result of stacked changes in memory, up to "
                  "64 MiB, and this one is larger (a real apply streams it through a file)");
    hasher_.update(data);
    data_.insert(data_.end(), data.begin(), data.end());
  }
  void read_back(uint64_t offset, std::span<std::byte> out) override {
    if (offset > data_.size() || out.size() > data_.size() - offset)
      throw Error(Errc::bad_patch, target_, "read back past the end of the output");
    if (!out.empty()) std::memcpy(out.data(), data_.data() + offset, out.size());
  }
  uint64_t size() const override { return data_.size(); }
  Hash128 digest() const { return hasher_.digest(); }
  std::vector<std::byte> take() { return std::move(data_); }

 private:
  const std::string& target_;
  Hasher hasher_;
  std::vector<std::byte> data_;
};

// One change of a chain, reading `input` (the file before the chain, or
// the previous change's result; none for a put or copy).
void produce_step(FileSystem& fs, const PlannedChange& step, const Source* input, Sink& out,
                  bool first) {
  const Change& change = *step.change;
  switch (change.kind) {
    case Kind::edit:
      if (step.edits) {
        step.edits->emit(*input, out);
      } else {
        EditList list(input->size());
        for (const auto& op : change.edits) apply_edit_op(list, op, fs);
        list.emit(*input, out);
      }
      return;
    case Kind::delta: {
      const auto patch = open_source(fs, change.patch);
      if (!first && check_source(*patch, *input) == SourceCheck::already_applied)
        throw Error(Errc::wrong_source, step.target,
                    "the patch " + change.patch +
                        " is already applied to what the change before it produces");
      apply_patch(*patch, *input, out);
      return;
    }
    case Kind::put: {
      const auto content = open_data(change.content, fs);
      out.write_from(*content, 0, content->size());
      return;
    }
    case Kind::copy: {
      const auto content = open_validated_source(fs, step);
      out.write_from(*content, 0, content->size());
      return;
    }
    default:  // a move is read, not run; the rest never stack
      break;
  }
  throw Error(Errc::usage, step.target, "cannot stack this change");
}

}  // namespace

ChangeChains::ChangeChains(const TransactionOptions& options, const std::vector<Change>& changes)
    : chain_index_(changes.size(), npos) {
  enum class What { changed, removed, moved_away };
  struct State {
    What what;
    size_t last;   // the latest change naming it
    size_t group;  // into groups (changed)
  };
  std::map<std::string, State> state;  // by path, "." and ".." resolved
  std::vector<std::vector<size_t>> groups;
  auto key = [&](const std::string& relative) { return paths::absolute(relative, options.root); };
  auto gone = [&](const State& s, size_t i) {
    return std::string(s.what == What::removed ? "removed" : "moved away") + " by " +
           named(changes[s.last], s.last) + (i > s.last ? " before" : "");
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    if (c.target.empty() || !c.source.empty()) continue;  // planned alone; plan_one checks it
    const bool transfer = c.kind == Kind::move || c.kind == Kind::copy;
    const char* verb = change_kind_name(c.kind);
    if (transfer && !c.from.empty()) {
      if (const auto it = state.find(key(c.from)); it != state.end()) {
        if (it->second.what == What::changed)
          refuse(c, key(c.from),
                 std::string(verb) + " takes the file as it was before the transaction, but " +
                     named(changes[it->second.last], it->second.last) +
                     " changes it before: " + verb + " it first, then change it");
        refuse(c, key(c.from), "the file is " + gone(it->second, i));
      }
    }
    const std::string target = key(c.target);
    if (const auto it = state.find(target); it != state.end()) {
      if (it->second.what != What::changed)
        refuse(c, target,
               "the file is " + gone(it->second, i) +
                   "; it cannot be changed in the same transaction");
      if (!content_change(c.kind))
        refuse(
            c, target,
            "the file is changed by " + named(changes[it->second.last], it->second.last) + "; a " +
                verb +
                " after that would undo it (only edit, delta and put stack onto earlier changes)");
      groups[it->second.group].push_back(i);
      it->second.last = i;
    } else {
      state[target] = {c.kind == Kind::remove ? What::removed : What::changed, i, groups.size()};
      groups.push_back({i});
    }
    if (c.kind == Kind::move && !c.from.empty() && key(c.from) != target)
      state[key(c.from)] = {What::moved_away, i, npos};
  }
  for (auto& group : groups) {
    if (group.size() < 2) continue;
    for (size_t i : group) chain_index_[i] = chains_.size();
    chains_.push_back(std::move(group));
  }
}

const std::vector<size_t>& ChangeChains::chain_of(size_t i) const {
  return chain_index_[i] == npos ? none_ : chains_[chain_index_[i]];
}

bool plan_chain_member(FileSystem& fs, const TransactionOptions& options,
                       const ChangeChains& chains, std::vector<PlannedChange>& plan, size_t i,
                       const PlanSingle& plan_single) {
  const auto& chain = chains.chain_of(i);
  if (chain.empty()) return false;
  PlannedChange& p = plan[i];
  PlannedChange& head = plan[chain.front()];
  if (i == chain.front()) {
    if (chain_already_applied(fs, options, plan, chain)) return true;
    // Stacked: its own result= describes its intermediate result (checked
    // while staging), not the file, so plan_one does not look for it there.
    p.stacked = true;
    plan_single(*p.change, p);
    if (p.unchanged)
      throw Error(Errc::usage, p.target,
                  "the first of the changes stacked on this file is already done (" + p.note +
                      ") but the later ones are not: apply those on their own");
    p.output_size = output_size_of(fs, p);
    return true;
  }
  if (head.unchanged) return true;  // the whole chain is up to date
  const auto at = std::find(chain.begin(), chain.end(), i);
  plan_stacked(fs, *p.change, head, plan[*(at - 1)], p);
  if (i != chain.back()) {
    p.stacked = true;
    return true;
  }
  // The last change carries the chain: one shadow, the target's identity,
  // the directories to create, the file read first, a move's removal.
  p.missing_dirs = head.missing_dirs;
  p.source = head.source;
  p.source_stat = head.source_stat;
  p.remove_source = head.remove_source;
  p.pre_hash = head.pre_hash;
  for (auto it = chain.begin(); it != at; ++it) p.earlier.push_back(&plan[*it]);
  return true;
}

std::vector<std::string> name_scratch_files(PlannedChange& carrier, const std::string& txid) {
  if (carrier.earlier.empty()) return {};
  const bool moved = carrier.earlier.front()->change->kind == Kind::move;
  const size_t results = carrier.earlier.size() + (moved ? 0 : 1);  // changes that write
  carrier.scratch.clear();
  for (size_t k = 1; k < results; ++k)
    carrier.scratch.push_back(paths::shadow_path(carrier.target + "~" + std::to_string(k), txid));
  return carrier.scratch;
}

void produce_chain(FileSystem& fs, const PlannedChange& carrier, Sink& out) {
  std::vector<PlannedChange*> steps = carrier.earlier;
  steps.push_back(const_cast<PlannedChange*>(&carrier));  // only its own fields are read
  std::shared_ptr<const Source> input;
  std::optional<Hash128> input_hash;
  size_t k = 0;
  const Kind first = steps.front()->change->kind;
  if (first == Kind::move) {
    input = open_validated_source(fs, carrier);  // the moved file itself, not a copy of it
    input_hash = steps.front()->pre_hash;
    k = 1;
  } else if (first == Kind::edit || first == Kind::delta) {
    input = open_validated_source(fs, *steps.front());
  }
  const bool in_memory = carrier.scratch.size() + 1 < steps.size() - k;
  size_t next_scratch = 0;
  for (; k < steps.size(); ++k) {
    PlannedChange& step = *steps[k];
    const Change& change = *step.change;
    const bool last = k + 1 == steps.size();
    try {
      if (k > 0 && change.expect) {
        if (!input_hash) input_hash = hash_source(*input);
        if (*input_hash != *change.expect)
          throw Error(
              Errc::wrong_source, step.target,
              "expect=xxh3:" + change.expect->hex() +
                  ", but the change before it leaves content hashing to xxh3:" + input_hash->hex());
      }
      if (last) {
        produce_step(fs, step, input.get(), out, k == 0);
        break;
      }
      if (in_memory) {
        ScratchInMemory sink(step.target);
        produce_step(fs, step, input.get(), sink, k == 0);
        input_hash = sink.digest();
        input = std::make_shared<MemorySource>(sink.take(), step.target + " (intermediate)");
      } else {
        const std::string& path = carrier.scratch.at(next_scratch++);
        {
          const auto file = fs.open(path, OpenMode::create_exclusive);
          ShadowFile sink(*file);
          produce_step(fs, step, input.get(), sink, k == 0);
          input_hash = sink.finish();  // nullopt when extents were shared unseen
        }
        input = open_source(fs, path);
      }
      step.size = input->size();
      if (change.result && !input_hash) input_hash = hash_source(*input);
      step.post_hash = input_hash;
      if (change.result && *input_hash != *change.result)
        throw Error(Errc::checksum, step.target,
                    "its result hashes to xxh3:" + input_hash->hex() +
                        " but result= says xxh3:" + change.result->hex());
    } catch (const Error& e) {
      rethrow_for_change(change, e);
    }
  }
}

void delete_scratch_files(FileSystem& fs, const std::vector<PlannedChange*>& work) {
  for (const auto* p : work)
    for (const auto& path : p->scratch)
      if (fs.lstat(path)) fs.unlink(path);
}

}  // namespace bpatch
