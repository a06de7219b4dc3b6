// Crash states: which subsets of the pending operations may survive a power
// cut (the dependency rules of crash_states.hpp), how torn writes are cut,
// and the images built from them.
#include "testing/crash_states.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace bpatch::testing {
namespace {

using Mask = std::vector<bool>;

// deps[i]: the pending ops (indices) that must survive if op i survives.
std::vector<std::vector<size_t>> dependencies(const std::vector<PendingOp>& pending,
                                              const CrashModel& model) {
  const size_t n = pending.size();
  std::vector<std::vector<size_t>> deps(n);
  std::map<uint64_t, size_t> rename_link;  // rename id → index of its link half
  std::map<std::pair<uint64_t, std::string>, size_t> last_entry_op;
  std::optional<size_t> last_metadata;
  for (size_t i = 0; i < n; ++i) {
    const PendingOp& op = pending[i];
    if (op.is_entry_op() && op.rename_id != 0) {
      if (op.kind == PendingOp::Kind::link) {
        rename_link[op.rename_id] = i;
      } else if (auto it = rename_link.find(op.rename_id); it != rename_link.end()) {
        deps[i].push_back(it->second);  // the old name goes only after the new one came
        if (!model.half_renames) deps[it->second].push_back(i);
      }
    }
    if (model.order == CrashModel::Order::per_entry) {
      if (!op.is_entry_op()) continue;
      auto key = std::make_pair(op.ino, op.name);
      if (auto it = last_entry_op.find(key); it != last_entry_op.end())
        deps[i].push_back(it->second);
      last_entry_op[key] = i;
    } else {
      const bool metadata = op.is_entry_op() || op.kind == PendingOp::Kind::chmod ||
                            op.kind == PendingOp::Kind::chown;
      if (!metadata) continue;
      if (last_metadata) deps[i].push_back(*last_metadata);
      last_metadata = i;
    }
  }
  return deps;
}

bool satisfied(const Mask& mask, const std::vector<std::vector<size_t>>& deps, size_t i) {
  return std::all_of(deps[i].begin(), deps[i].end(), [&](size_t d) { return mask[d]; });
}

bool valid(const Mask& mask, const std::vector<std::vector<size_t>>& deps) {
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i] && !satisfied(mask, deps, i)) return false;
  return true;
}

// The largest valid subset of mask.
void repair(Mask& mask, const std::vector<std::vector<size_t>>& deps) {
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] && !satisfied(mask, deps, i)) {
        mask[i] = false;
        changed = true;
      }
    }
  }
}

std::vector<uint64_t> to_seqs(const Mask& mask, const std::vector<PendingOp>& pending) {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) out.push_back(pending[i].seq);
  return out;
}

// Cuts a write into sector pieces, each kept, lost or garbage.
void tear(const PendingOp& op, uint32_t sector, Rng& rng, std::vector<PendingOp>& out,
          std::string& note) {
  const uint64_t end = op.offset + op.data->size();
  note += " torn #" + std::to_string(op.seq) + " [";
  for (uint64_t at = op.offset; at < end;) {
    const uint64_t piece_end = std::min<uint64_t>(end, (at / sector + 1) * sector);
    const int fate = static_cast<int>(rng() % 3);
    note += fate == 0 ? 'k' : fate == 1 ? '-' : 'g';
    if (fate != 1) {
      PendingOp piece = op;
      const auto first = op.data->begin() + static_cast<std::ptrdiff_t>(at - op.offset);
      Bytes bytes(first, first + static_cast<std::ptrdiff_t>(piece_end - at));
      if (fate == 2)
        for (auto& b : bytes) b = static_cast<std::byte>(rng());
      piece.offset = at;
      piece.data = std::make_shared<const Bytes>(std::move(bytes));
      out.push_back(std::move(piece));
    }
    at = piece_end;
  }
  note += ']';
}

}  // namespace

std::string CrashModel::name() const {
  if (kind == Kind::durable_only) return "durable_only";
  std::string out = order == Order::per_entry ? "subsets(per_entry" : "subsets(journaled";
  if (half_renames) out += ", half_renames";
  if (torn_writes) out += ", torn_writes";
  return out + ")";
}

std::string to_string(const PendingOp& op) {
  std::ostringstream out;
  out << '#' << op.seq << ' ' << pending_kind_name(op.kind) << " i" << op.ino;
  switch (op.kind) {
    case PendingOp::Kind::write:
      out << " [" << op.offset << ", +" << op.data->size() << ')';
      break;
    case PendingOp::Kind::truncate:
      out << " to " << op.size;
      break;
    case PendingOp::Kind::chmod:
      out << ' ' << std::oct << op.mode << std::dec;
      break;
    case PendingOp::Kind::chown:
      out << ' ' << op.uid << ':' << op.gid;
      break;
    case PendingOp::Kind::link:
    case PendingOp::Kind::unlink:
      out << '/' << op.name << " = i" << op.child;
      if (op.rename_id) out << " (rename " << op.rename_id << ')';
      break;
  }
  return out.str();
}

std::vector<std::vector<uint64_t>> valid_subsets(const std::vector<PendingOp>& pending,
                                                 const CrashModel& model, Rng& rng, size_t max) {
  const size_t n = pending.size();
  std::vector<std::vector<uint64_t>> out;
  if (max == 0) return out;
  out.push_back({});  // everything lost
  if (model.kind == CrashModel::Kind::durable_only || n == 0 || max == 1) return out;
  out.push_back(to_seqs(Mask(n, true), pending));  // nothing lost
  const auto deps = dependencies(pending, model);
  std::vector<Mask> rest;
  if (n <= std::min<size_t>(model.exhaustive_limit, 20)) {  // 2^20 masks at most
    for (uint64_t bits = 1; bits + 1 < (uint64_t{1} << n); ++bits) {
      Mask mask(n);
      for (size_t i = 0; i < n; ++i) mask[i] = (bits >> i) & 1;
      if (valid(mask, deps)) rest.push_back(std::move(mask));
    }
    if (rest.size() > max - 2) {
      std::shuffle(rest.begin(), rest.end(), rng);
      rest.resize(max - 2);
    }
  } else {
    std::set<Mask> seen{Mask(n, false), Mask(n, true)};
    for (size_t attempt = 0; rest.size() < max - 2 && attempt < 8 * max; ++attempt) {
      // A fresh survival rate per sample, so small and large subsets both come up.
      const double rate = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      std::bernoulli_distribution keep(rate);
      Mask mask(n);
      for (size_t i = 0; i < n; ++i) mask[i] = keep(rng);
      repair(mask, deps);
      if (seen.insert(mask).second) rest.push_back(std::move(mask));
    }
  }
  for (const Mask& mask : rest) out.push_back(to_seqs(mask, pending));
  return out;
}

size_t for_each_crash_image(const MemoryFileSystem& fs, const CrashModel& model, Rng& rng,
                            size_t max, const std::function<void(CrashImage&)>& visit) {
  const MemoryState state = fs.state();
  const std::vector<PendingOp>& pending = state.pending();
  std::map<uint64_t, const PendingOp*> by_seq;
  for (const PendingOp& op : pending) by_seq[op.seq] = &op;
  const auto subsets = valid_subsets(pending, model, rng, max);

  auto make = [&](const std::vector<uint64_t>& kept, bool may_tear) {
    CrashImage image;
    image.kept = kept;
    std::vector<size_t> writes;  // indices into ops of the kept writes
    std::vector<PendingOp> ops;
    for (uint64_t seq : kept) {
      const PendingOp& op = *by_seq.at(seq);
      if (op.kind == PendingOp::Kind::write && !op.data->empty()) writes.push_back(ops.size());
      ops.push_back(op);
    }
    std::string torn;
    if (may_tear && !writes.empty()) {
      std::vector<bool> tear_it(ops.size(), false);
      for (size_t w : writes) tear_it[w] = rng() % 2 == 0;
      if (std::none_of(writes.begin(), writes.end(), [&](size_t w) { return tear_it[w]; }))
        tear_it[writes[rng() % writes.size()]] = true;
      std::vector<PendingOp> cut;
      for (size_t i = 0; i < ops.size(); ++i) {
        if (tear_it[i])
          tear(ops[i], model.sector_size, rng, cut, torn);
        else
          cut.push_back(ops[i]);
      }
      ops = std::move(cut);
    }
    std::ostringstream desc;
    desc << model.name() << ": kept " << kept.size() << '/' << pending.size();
    for (size_t i = 0; i < kept.size() && i < 16; ++i)
      desc << (i ? ", " : ": ") << to_string(*by_seq.at(kept[i]));
    if (kept.size() > 16) desc << ", ...";
    desc << torn;
    image.description = desc.str();
    image.fs = std::make_unique<MemoryFileSystem>(state.crash_image(ops), fs.options());
    visit(image);
  };

  size_t made = 0;
  for (size_t s = 0; s < subsets.size(); ++s, ++made)
    make(subsets[s], model.torn_writes && s >= 2);  // images 0 and 1 stay exact
  if (!model.torn_writes) return made;
  // Torn variants of the subsets that keep a write, round robin, up to max.
  std::vector<size_t> with_writes;
  for (size_t s = 1; s < subsets.size(); ++s)
    if (std::any_of(subsets[s].begin(), subsets[s].end(),
                    [&](uint64_t seq) { return by_seq.at(seq)->kind == PendingOp::Kind::write; }))
      with_writes.push_back(s);
  for (size_t i = 0; made < max && !with_writes.empty(); ++i, ++made)
    make(subsets[with_writes[i % with_writes.size()]], true);
  return made;
}

std::vector<CrashImage> crash_images(const MemoryFileSystem& fs, const CrashModel& model, Rng& rng,
                                     size_t max) {
  std::vector<CrashImage> out;
  for_each_crash_image(fs, model, rng, max,
                       [&](CrashImage& image) { out.push_back(std::move(image)); });
  return out;
}

std::unique_ptr<MemoryFileSystem> durable_image(const MemoryFileSystem& fs) {
  return std::make_unique<MemoryFileSystem>(fs.state().crash_image({}), fs.options());
}

}  // namespace bpatch::testing
