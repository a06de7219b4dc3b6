"""move() and copy() in a Transaction, keep= and undo(): the library's
move/copy statements and undo generations, seen from Python."""

import os

import pytest

import bpatch
from conftest import snapshot


def test_move_keeps_the_inode_and_removes_the_source(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "name.bin").write_bytes(b"payload" * 1000)
    inode = os.stat(tmp_path / "old" / "name.bin").st_ino
    with bpatch.Transaction(tmp_path) as tx:
        tx.move("old/name.bin", "new/dir/name.bin")
    assert not (tmp_path / "old" / "name.bin").exists()
    assert (tmp_path / "new" / "dir" / "name.bin").read_bytes() == b"payload" * 1000
    assert os.stat(tmp_path / "new" / "dir" / "name.bin").st_ino == inode
    assert [r.kind for r in tx.result] == ["move"]


def test_copy_leaves_the_source_and_takes_mode(tmp_path):
    (tmp_path / "base.cfg").write_bytes(b"x = 1\n")
    with bpatch.Transaction(tmp_path) as tx:
        tx.copy("base.cfg", "site.cfg", mode=0o600)
    assert (tmp_path / "base.cfg").read_bytes() == b"x = 1\n"
    assert (tmp_path / "site.cfg").read_bytes() == b"x = 1\n"
    assert os.stat(tmp_path / "site.cfg").st_mode & 0o777 == 0o600


def test_move_expect_refers_to_the_source(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"aaaa")
    before = snapshot(tmp_path)
    tx = bpatch.Transaction(tmp_path)
    tx.move("a.bin", "b.bin")
    tx.expect("b.bin", "0" * 32)
    with pytest.raises(bpatch.Error) as e:
        tx.commit()
    assert e.value.code == "wrong_source"
    assert snapshot(tmp_path) == before


def test_move_of_a_missing_source_changes_nothing(tmp_path):
    (tmp_path / "keep.bin").write_bytes(b"k")
    before = snapshot(tmp_path)
    with pytest.raises(bpatch.Error):
        with bpatch.Transaction(tmp_path) as tx:
            tx.move("missing.bin", "b.bin")
    assert snapshot(tmp_path) == before


def test_move_and_another_op_on_the_destination_is_refused_at_once(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"a")
    tx = bpatch.Transaction(tmp_path)
    tx.move("a.bin", "b.bin")
    with pytest.raises(bpatch.Error, match="already has move"):
        tx.write("b.bin", 0, b"x")


def test_keep_then_undo_restores_every_file(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"first version of a")
    (tmp_path / "gone.bin").write_bytes(b"removed by the update")
    before = snapshot(tmp_path)
    inode = os.stat(tmp_path / "a.bin").st_ino
    with bpatch.Transaction(tmp_path, keep=1) as tx:
        tx.write("a.bin", 0, b"SECOND")
        tx.remove("gone.bin")
        tx.put("new.bin", b"created")
    assert (tmp_path / "a.bin").read_bytes().startswith(b"SECOND")
    result = bpatch.undo(tmp_path)
    assert result.txid
    # gone.bin comes back, a.bin gets its original, new.bin goes.
    assert sorted(r.action for r in result) == ["created", "removed", "replaced"]
    after = {k: v for k, v in snapshot(tmp_path).items() if not k.startswith(".bpatch")}
    assert after == {k: v for k, v in before.items() if not k.startswith(".bpatch")}
    assert os.stat(tmp_path / "a.bin").st_ino == inode  # the very original, not a copy
    with pytest.raises(bpatch.Error) as e:
        bpatch.undo(tmp_path)
    assert e.value.code == "not_found"


def test_undo_refuses_a_file_changed_since_unless_forced(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"v1")
    with bpatch.Transaction(tmp_path, keep=1) as tx:
        tx.put("a.bin", b"v2")
    (tmp_path / "a.bin").write_bytes(b"changed by someone else")
    with pytest.raises(bpatch.Error) as e:
        bpatch.undo(tmp_path)
    assert e.value.code == "wrong_source"
    assert (tmp_path / "a.bin").read_bytes() == b"changed by someone else"
    bpatch.undo(tmp_path, force=True)
    assert (tmp_path / "a.bin").read_bytes() == b"v1"


def test_without_keep_there_is_nothing_to_undo(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"v1")
    with bpatch.Transaction(tmp_path) as tx:
        tx.put("a.bin", b"v2")
    with pytest.raises(bpatch.Error) as e:
        bpatch.undo(tmp_path)
    assert e.value.code == "not_found"
    assert (tmp_path / "a.bin").read_bytes() == b"v2"


def test_apply_script_keep(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"v1")
    script = tmp_path / "s.bpatch"
    script.write_text("bpatch 1\nput a.bin hex:7632\n")
    bpatch.apply_script(script, root=tmp_path, keep=1)
    assert (tmp_path / "a.bin").read_bytes() == b"v2"
    bpatch.undo(tmp_path)
    assert (tmp_path / "a.bin").read_bytes() == b"v1"
