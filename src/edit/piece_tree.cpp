// PieceTree: an implicit treap of pieces; see piece_tree.hpp.
#include "edit/piece_tree.hpp"

#include <utility>

namespace bpatch {

int32_t PieceTree::make(Piece piece) {
  seed_ ^= seed_ << 13, seed_ ^= seed_ >> 7, seed_ ^= seed_ << 17;  // xorshift64
  Node node;
  node.total = piece.length;
  node.priority = static_cast<uint32_t>(seed_ >> 32);
  node.piece = std::move(piece);
  ++count_;
  if (!free_.empty()) {
    const int32_t t = free_.back();
    free_.pop_back();
    at(t) = std::move(node);
    return t;
  }
  nodes_.push_back(std::move(node));
  return static_cast<int32_t>(nodes_.size() - 1);
}

void PieceTree::release(int32_t t) {
  // Iterative: a dropped range may be a deep subtree.
  std::vector<int32_t> stack;
  if (t >= 0) stack.push_back(t);
  while (!stack.empty()) {
    const int32_t n = stack.back();
    stack.pop_back();
    if (at(n).left >= 0) stack.push_back(at(n).left);
    if (at(n).right >= 0) stack.push_back(at(n).right);
    at(n).piece.blob.reset();
    free_.push_back(n);
    --count_;
  }
}

void PieceTree::update(int32_t t) {
  Node& n = at(t);
  n.total = total_of(n.left) + n.piece.length + total_of(n.right);
}

int32_t PieceTree::merge(int32_t a, int32_t b) {
  if (a < 0) return b;
  if (b < 0) return a;
  if (at(a).priority >= at(b).priority) {
    const int32_t r = merge(at(a).right, b);
    at(a).right = r;
    update(a);
    return a;
  }
  const int32_t l = merge(a, at(b).left);
  at(b).left = l;
  update(b);
  return b;
}

void PieceTree::split(int32_t t, uint64_t k, int32_t& l, int32_t& r) {
  if (t < 0) {
    l = r = -1;
    return;
  }
  const uint64_t left_total = total_of(at(t).left);
  const uint64_t length = at(t).piece.length;
  if (k <= left_total) {
    int32_t inner = -1;
    split(at(t).left, k, l, inner);
    at(t).left = inner;
    update(t);
    r = t;
  } else if (k >= left_total + length) {
    int32_t inner = -1;
    split(at(t).right, k - left_total - length, inner, r);
    at(t).right = inner;
    update(t);
    l = t;
  } else {  // k cuts this piece: its head stays here, its tail starts r
    const uint64_t head = k - left_total;
    const int32_t tail = make(tail_of(at(t).piece, head));  // may move nodes_
    at(t).piece.length = head;
    const int32_t right = at(t).right;
    at(t).right = -1;
    update(t);
    l = t;
    r = merge(tail, right);
  }
}

const Piece& PieceTree::first(int32_t t) const {
  while (at(t).left >= 0) t = at(t).left;
  return at(t).piece;
}

const Piece& PieceTree::last(int32_t t) const {
  while (at(t).right >= 0) t = at(t).right;
  return at(t).piece;
}

int32_t PieceTree::join(int32_t a, int32_t b) {
  if (a < 0 || b < 0 || !continues(last(a), first(b))) return merge(a, b);
  // Cut both pieces out (split at piece boundaries cuts nothing), make
  // them one, and put it back between the rest.
  int32_t a_rest = -1, a_last = -1, b_first = -1, b_rest = -1;
  split(a, total_of(a) - last(a).length, a_rest, a_last);
  split(b, first(b).length, b_first, b_rest);
  at(a_last).piece.length += at(b_first).piece.length;
  update(a_last);
  release(b_first);
  return merge(merge(a_rest, a_last), b_rest);
}

void PieceTree::replace(uint64_t offset, uint64_t erase_length, std::vector<Piece> with) {
  int32_t before = -1, rest = -1, dropped = -1, after = -1;
  split(root_, offset, before, rest);
  split(rest, erase_length, dropped, after);
  release(dropped);
  int32_t middle = -1;
  for (Piece& p : with)
    if (p.length > 0) middle = join(middle, make(std::move(p)));
  root_ = join(join(before, middle), after);
}

std::vector<Piece> PieceTree::flatten() const {
  std::vector<Piece> out;
  out.reserve(count_);
  for_each([&](const Piece& p) { out.push_back(p); });
  return out;
}

}  // namespace bpatch
