"""Merkle tree hashing, proofs and their verification, as in RFC 9162 §2.1 (Certificate Transparency v2).

    leaf hash   = SHA-256(0x00 || leaf data)
    node hash   = SHA-256(0x01 || left || right)
    MTH(D[n])   = H(1 || MTH(D[0:k]) || MTH(D[k:n])), k the largest power of two < n

An append-only tree is kept as its *frontier*: the roots of the perfect subtrees along its right edge,
largest first (one per 1-bit of the size). Appending is O(log n) and the root is folded from the
frontier, so a writer never reads the tree back. Pure Python, no I/O.

Proofs from a stored tree come in two steps, as transparency-dev/merkle's ``proof`` package does them:
``inclusion_plan`` / ``consistency_plan`` say which stored nodes a proof needs, ``rehash`` folds the
fetched hashes into the proof. A stored node is the root of a perfect subtree, named by its level
(0 = a leaf) and its position on that level: node (l, p) covers leaves p·2^l … (p+1)·2^l - 1. Every
subtree an RFC 9162 proof names starts at a multiple of a power of two at least its own size, so it
is the fold of at most log2(n) perfect nodes (one per 1-bit of its size, largest first), and a proof
needs O(log n) nodes in all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class Frontier:
    """The right edge of an append-only tree of ``size`` leaves."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError("frontier does not fit the tree size")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        node = leaf
        size = self.size
        # Merge equal-sized subtrees: one per trailing 1-bit of the old size.
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
        self.hashes.append(node)
        self.size += 1

    def append_nodes(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """``append``, returning the interior nodes it completed as (level, position, hash)."""
        node = leaf
        size, level = self.size, 0
        made: list[tuple[int, int, bytes]] = []
        while size & 1:
            node = node_hash(self.hashes.pop(), node)
            size >>= 1
            level += 1
            made.append((level, self.size >> level, node))
        self.hashes.append(node)
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        node = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            node = node_hash(h, node)
        return node

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, data: bytes) -> Frontier:
        return cls(size, [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)])


def root(leaves: Iterable[bytes]) -> bytes:
    f = Frontier()
    for leaf in leaves:
        f.append(leaf)
    return f.root()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _split(hi - lo)
    return node_hash(_mth(leaves, lo, lo + k), _mth(leaves, lo + k, hi))


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf ``index`` in the tree of the first ``size`` leaves."""
    if not 0 <= index < size <= len(leaves):
        raise ValueError("index outside the tree")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            path.append(_mth(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(_mth(leaves, lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(leaves: Sequence[bytes], old: int, new: int) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 between the trees of sizes ``old`` and ``new``."""
    if not 0 < old <= new <= len(leaves):
        raise ValueError("sizes outside the tree")

    def subproof(m: int, lo: int, hi: int, complete: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if complete else [_mth(leaves, lo, hi)]
        k = _split(n)
        if m <= k:
            return [*subproof(m, lo, lo + k, complete), _mth(leaves, lo + k, hi)]
        return [*subproof(m - k, lo + k, hi, False), _mth(leaves, lo, lo + k)]

    return subproof(old, 0, new, True)


def _digests(*hashes: bytes) -> bool:
    return all(len(h) == 32 for h in hashes)


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2. Every hash must be a SHA-256 digest (32 bytes)."""
    if index >= size or not _digests(leaf, root_hash, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2. Every hash of the proof must be a SHA-256 digest (32 bytes)."""
    if not _digests(*proof):
        return False
    if old == new:
        return old_root == new_root and not proof
    if old == 0 or old > new or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- proofs from stored nodes -------------------------------------------------------------------

Node = tuple[int, int]  # (level, position)


def perfect_nodes(lo: int, hi: int) -> list[Node]:
    """The perfect subtrees that make up leaves lo … hi-1, largest first (lo aligned as in a proof)."""
    nodes: list[Node] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        while lo & ((1 << level) - 1):
            level -= 1
        nodes.append((level, lo >> level))
        lo += 1 << level
    return nodes


def _range_plan(ranges: list[tuple[int, int]]) -> list[list[Node]]:
    return [perfect_nodes(lo, hi) for lo, hi in ranges]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The subtrees (leaf ranges) whose roots form PATH(index, D[size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    ranges: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m = lo + k, m - k
    ranges.reverse()
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The subtrees (leaf ranges) whose roots form PROOF(old, D[new]), in proof order."""
    if not 0 < old <= new:
        raise ValueError("sizes outside the tree")

    def sub(m: int, lo: int, hi: int, complete: bool) -> list[tuple[int, int]]:
        n = hi - lo
        if m == n:
            return [] if complete else [(lo, hi)]
        k = _split(n)
        if m <= k:
            return [*sub(m, lo, lo + k, complete), (lo + k, hi)]
        return [*sub(m - k, lo + k, hi, False), (lo, lo + k)]

    return sub(old, 0, new, True)


def inclusion_plan(index: int, size: int) -> list[list[Node]]:
    """Which stored nodes an inclusion proof needs: per proof element, the nodes to fold."""
    return _range_plan(inclusion_ranges(index, size))


def consistency_plan(old: int, new: int) -> list[list[Node]]:
    """Which stored nodes a consistency proof needs: per proof element, the nodes to fold."""
    return _range_plan(consistency_ranges(old, new))


def rehash(plan: Sequence[Sequence[Node]], hashes: dict[Node, bytes]) -> list[bytes]:
    """The proof: each element's perfect nodes folded from the right, as MTH splits a subtree."""
    proof: list[bytes] = []
    for nodes in plan:
        node = hashes[nodes[-1]]
        for n in reversed(nodes[:-1]):
            node = node_hash(hashes[n], node)
        proof.append(node)
    return proof
