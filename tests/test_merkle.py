"""The Merkle tree against RFC 9162's definitions: roots, inclusion and consistency proofs."""

from __future__ import annotations

import random

import pytest

from gateway.log import merkle


def leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def reference_root(ls: list[bytes]) -> bytes:
    """MTH straight from the definition, recursively."""
    if not ls:
        return merkle.EMPTY_ROOT
    if len(ls) == 1:
        return ls[0]
    k = 1
    while k * 2 < len(ls):
        k *= 2
    return merkle.node_hash(reference_root(ls[:k]), reference_root(ls[k:]))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100])
def test_frontier_root_equals_the_definition(n: int) -> None:
    ls = leaves(n)
    assert merkle.root(ls) == reference_root(ls)
    f = merkle.Frontier()
    for i, leaf in enumerate(ls):
        f.append(leaf)
        assert f.root() == reference_root(ls[: i + 1])
    again = merkle.Frontier.from_bytes(f.size, f.to_bytes())
    assert again.root() == f.root()


def test_known_vector() -> None:
    # Two leaves "a", "b": H(1 || H(0||a) || H(0||b)).
    import hashlib

    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    assert a == hashlib.sha256(b"\x00a").digest()


def test_inclusion_proofs_verify_and_fail_when_altered() -> None:
    rng = random.Random(7)
    ls = leaves(77)
    for size in (1, 2, 3, 8, 13, 64, 77):
        r = merkle.root(ls[:size])
        for index in {0, size - 1, rng.randrange(size)}:
            proof = merkle.inclusion_proof(ls, index, size)
            assert merkle.verify_inclusion(ls[index], index, size, proof, r)
            assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, proof, r)
            if size > 1:
                assert not merkle.verify_inclusion(ls[index], (index + 1) % size, size, proof, r)
            if proof:
                bad = list(proof)
                bad[0] = bytes(32)
                assert not merkle.verify_inclusion(ls[index], index, size, bad, r)


def test_consistency_proofs_verify_and_fail_when_altered() -> None:
    ls = leaves(50)
    for old in range(1, 51, 3):
        for new in range(old, 51, 7):
            proof = merkle.consistency_proof(ls, old, new)
            r1, r2 = merkle.root(ls[:old]), merkle.root(ls[:new])
            assert merkle.verify_consistency(old, new, r1, r2, proof)
            if old != new:
                assert not merkle.verify_consistency(old, new, r1, merkle.leaf_hash(b"x"), proof)
                assert not merkle.verify_consistency(old, new, merkle.leaf_hash(b"x"), r2, proof)
                if proof:
                    bad = [*proof[:-1], bytes(32)]
                    assert not merkle.verify_consistency(old, new, r1, r2, bad)


def test_leaf_encoding_is_the_canonical_json() -> None:
    from gateway.log.regel import leaf_data, leaf_data_reference

    cases = [
        {
            "tijdstip": "2026-11-23T10:00:00.000000Z",
            "soort": "inkomend",
            "operatie": "MeldingAfgeven",
            "actor": "00000001111111111000",
            "bericht_id": "6f1c8a52-3e0b-4c1e-9a55-0c2b7d1e4a01",
            "kruisverwijzing": None,
            "foutcode": None,
            "correlatie_id": None,
            "payload_digest": bytes(range(32)),
            "payload_lengte": 690,
        },
        {
            "tijdstip": "t",
            "soort": "inzage",
            "operatie": 'log "search"\n',
            "actor": "Zoë\\beheer\u2028\x01",
            "bericht_id": None,
            "kruisverwijzing": "x",
            "foutcode": "VIR-X",
            "correlatie_id": "c",
            "payload_digest": b"\xff" * 32,
            "payload_lengte": 0,
        },
    ]
    for i, fields in enumerate(cases):
        assert leaf_data(i * 1000, **fields) == leaf_data_reference(i * 1000, **fields)


def _stored_tree(ls: list[bytes]) -> dict[merkle.Node, bytes]:
    """Every node the writer stores for these leaves: the leaves and what Frontier.append_nodes makes."""
    f = merkle.Frontier()
    nodes: dict[merkle.Node, bytes] = {}
    for i, leaf in enumerate(ls):
        nodes[(0, i)] = leaf
        for level, pos, h in f.append_nodes(leaf):
            nodes[(level, pos)] = h
    assert f.root() == reference_root(ls)
    return nodes


def test_proofs_from_stored_nodes_equal_the_proofs_from_all_leaves() -> None:
    """The O(log n) plans, rehashed from stored nodes, give exactly RFC 9162's PATH and PROOF."""
    rng = random.Random(11)
    ls = leaves(300)
    nodes = _stored_tree(ls)
    for size in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 255, 256, 257, 300]:
        for index in {0, size - 1, rng.randrange(size), rng.randrange(size)}:
            plan = merkle.inclusion_plan(index, size)
            assert sum(len(p) for p in plan) <= 2 * max(1, size.bit_length())
            assert merkle.rehash(plan, nodes) == merkle.inclusion_proof(ls, index, size)
        for old in {1, size, rng.randrange(1, size + 1), rng.randrange(1, size + 1)}:
            plan = merkle.consistency_plan(old, size)
            assert merkle.rehash(plan, nodes) == merkle.consistency_proof(ls, old, size)
        assert merkle.rehash([merkle.perfect_nodes(0, size)], nodes) == [reference_root(ls[:size])]


def test_append_nodes_names_each_perfect_subtree_once() -> None:
    ls = leaves(64)
    nodes = _stored_tree(ls)
    assert len(nodes) == 2 * 64 - 1
    assert nodes[(6, 0)] == reference_root(ls)
    assert nodes[(2, 3)] == reference_root(ls[12:16])
