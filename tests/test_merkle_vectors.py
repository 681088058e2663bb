"""The Merkle tree against vectors published by another implementation: transparency-dev/merkle, the Go
library behind Certificate Transparency and Trillian (source and licence in tests/data/merkle/README.md).

The rest of the suite checks ``gateway.log.merkle`` against its own reading of RFC 9162; these hashes
and proofs were computed by someone else."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gateway.log import merkle

DATA = Path(__file__).parent / "data" / "merkle"
TREE = json.loads((DATA / "rfc6962.json").read_text())


def _probes(kind: str) -> list[Any]:
    files = sorted((DATA / "testdata" / kind).rglob("*.json"))
    assert files, f"no {kind} probes under {DATA}"
    return [pytest.param(json.loads(f.read_text()), id=str(f.relative_to(DATA / "testdata" / kind))) for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _hashes(values: list[str] | None) -> list[bytes]:
    return [_b64(v) for v in values or []]


def leaves() -> list[bytes]:
    return [merkle.leaf_hash(bytes.fromhex(d)) for d in TREE["leafInputs"]]


def test_hasher() -> None:
    # The inputs of rfc6962/rfc6962_test.go TestRFC6962Hasher, in its order.
    got = {
        "RFC6962 Empty": merkle.EMPTY_ROOT,
        "RFC6962 Empty Leaf": merkle.leaf_hash(b""),
        "RFC6962 Leaf": merkle.leaf_hash(b"L123456"),
        "RFC6962 Node": merkle.node_hash(b"N123", b"N456"),
    }
    assert {v["desc"]: v["want"] for v in TREE["hasher"]} == {k: h.hex() for k, h in got.items()}


def test_leaf_hashes_and_every_node_of_the_eight_leaf_tree() -> None:
    ls = leaves()
    assert [h.hex() for h in ls] == TREE["nodeHashes"][0]
    # Every complete subtree of a level above the leaves: 2^level leaves starting at i * 2^level.
    for level, row in enumerate(TREE["nodeHashes"][1:], start=1):
        width = 1 << level
        assert [merkle.root(ls[i * width : (i + 1) * width]).hex() for i in range(len(row))] == row


def test_roots_and_frontiers_of_every_size() -> None:
    ls = leaves()
    assert len(TREE["rootHashes"]) == len(TREE["compactTrees"]) == len(ls) + 1
    f = merkle.Frontier()
    for size in range(len(ls) + 1):
        if size:
            f.append(ls[size - 1])
        assert merkle.root(ls[:size]).hex() == TREE["rootHashes"][size], size
        assert f.root().hex() == TREE["rootHashes"][size], size
        # The library's compact range is our frontier: the perfect subtrees along the right edge, largest first.
        assert [h.hex() for h in f.hashes] == TREE["compactTrees"][size], size


@pytest.mark.parametrize("case", TREE["inclusionProofs"], ids=lambda c: f"{c['index']}:{c['size']}")
def test_inclusion_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    ls = leaves()
    index, size = case["index"], case["size"]
    proof = merkle.inclusion_proof(ls, index, size)
    assert [p.hex() for p in proof] == case["proof"]
    assert merkle.verify_inclusion(ls[index], index, size, proof, bytes.fromhex(TREE["rootHashes"][size]))


@pytest.mark.parametrize("case", TREE["consistencyProofs"], ids=lambda c: f"{c['size1']}:{c['size2']}")
def test_consistency_proofs_are_the_published_ones(case: dict[str, Any]) -> None:
    ls = leaves()
    old, new = case["size1"], case["size2"]
    proof = merkle.consistency_proof(ls, old, new)
    assert [p.hex() for p in proof] == case["proof"]
    roots = TREE["rootHashes"]
    assert merkle.verify_consistency(old, new, bytes.fromhex(roots[old]), bytes.fromhex(roots[new]), proof)


def _bit_ceil(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _subtrees(largest: int) -> list[tuple[int, int]]:
    """Every [start, end) of testonly/vectors_test.go: start a multiple of bit_ceil(end - start), or 0, or end."""
    return [
        (start, end)
        for end in range(largest + 1)
        for start in range(end + 1)
        if start in (0, end) or start % _bit_ceil(end - start) == 0
    ]


def test_accumulated_roots_of_every_subtree_up_to_130_leaves() -> None:
    """testonly/vectors_test.go TestSubtreeHashVectors (from draft-ietf-plants-merkle-tree-certs): the
    root of every aligned subtree of a 130-leaf tree, folded into one SHA-256. An aligned subtree is a
    tree of its own, so ``merkle.root`` of its leaves must give the published hash."""
    ls = [merkle.leaf_hash(bytes([i])) for i in range(130)]
    h = hashlib.sha256()
    for start, end in _subtrees(130):
        h.update(f"[{start}, {end}) {merkle.root(ls[start:end]).hex()}\n".encode())
    assert h.hexdigest() == TREE["subtreeVectors"]["TestSubtreeHashVectors"]


def test_accumulated_inclusion_proofs_of_every_leaf_up_to_130_leaves() -> None:
    """testonly/vectors_test.go TestSubtreeInclusionProofVectors: the inclusion proof of every leaf in
    every aligned subtree (so also in every tree of 0 to 130 leaves), folded into one SHA-256."""
    ls = [merkle.leaf_hash(bytes([i])) for i in range(130)]
    h = hashlib.sha256()
    for start, end in _subtrees(130):
        for index in range(start, end):
            proof = merkle.inclusion_proof(ls[start:end], index - start, end - start)
            h.update((f"{index} [{start}, {end})" + "".join(f" {p.hex()}" for p in proof) + "\n").encode())
    assert h.hexdigest() == TREE["subtreeVectors"]["TestSubtreeInclusionProofVectors"]


# Where our verifier and the library's disagree, each a decision written down, so that a change either
# way shows. It is about input the log itself never produces.
DIFFERENCES = {
    # The library refuses every proof from a tree of size 0 (proof.RootFromConsistencyProof: "consistency
    # proofs from a size1==0 cannot be computed"); ours accepts two equal roots with an empty proof
    # whenever the sizes are equal, 0 included.
    "consistency/additional/sizes-are-equal-zero-and-proof-is-empty.json",
}


def test_every_difference_names_a_probe() -> None:
    for name in DIFFERENCES:
        assert (DATA / "testdata" / name).is_file(), name


def _want(kind: str, probe: dict[str, Any], request: pytest.FixtureRequest) -> bool:
    want = not probe["wantErr"]
    return not want if f"{kind}/{request.node.callspec.id}" in DIFFERENCES else want


@pytest.mark.parametrize("probe", _probes("inclusion"))
def test_inclusion_probe(probe: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """testdata/inclusion: a proof and corruptions of it (wrong index, size, leaf or root, added, removed
    or flipped hashes), each with the verdict the library gives."""
    ok = merkle.verify_inclusion(
        _b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], _hashes(probe["proof"]), _b64(probe["root"])
    )
    assert ok is _want("inclusion", probe, request), probe["desc"]


@pytest.mark.parametrize("probe", _probes("consistency"))
def test_consistency_probe(probe: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """testdata/consistency: a proof and corruptions of it (wrong sizes or roots, swapped roots, added,
    removed or flipped hashes), each with the verdict the library gives."""
    ok = merkle.verify_consistency(
        probe["size1"], probe["size2"], _b64(probe["root1"]), _b64(probe["root2"]), _hashes(probe["proof"])
    )
    assert ok is _want("consistency", probe, request), probe["desc"]
