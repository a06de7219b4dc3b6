"""apply_patch, apply_script, status and recover, with real diff tools
(bsdiff, xdelta3) making the patches; paths as str and os.PathLike."""

import os
import shutil
import subprocess

import pytest

import bpatch
from conftest import snapshot


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} (an oracle of this test) is not installed")
    return path


@pytest.fixture
def versions(tmp_path):
    old = os.urandom(30_000)
    new = old[:10_000] + b"changed" * 100 + old[12_000:]
    (tmp_path / "old.bin").write_bytes(old)
    (tmp_path / "new.bin").write_bytes(new)
    return tmp_path, old, new


@pytest.mark.parametrize("maker", ["bsdiff", "xdelta3"])
def test_apply_patch_in_place_and_to_output(versions, maker):
    d, old, new = versions
    patch = d / f"p.{maker}"
    if maker == "bsdiff":
        subprocess.run([tool("bsdiff"), d / "old.bin", d / "new.bin", patch], check=True)
    else:
        subprocess.run([tool("xdelta3"), "-e", "-f", "-s", d / "old.bin", d / "new.bin", patch],
                       check=True)
    result = bpatch.apply_patch(patch, d / "old.bin", output=str(d / "out.bin"))
    assert (d / "out.bin").read_bytes() == new and (d / "old.bin").read_bytes() == old
    assert result[0].action == "created" and result[0].post_hash == bpatch.hash_bytes(new)
    result = bpatch.apply_patch(str(patch), d / "old.bin")
    assert (d / "old.bin").read_bytes() == new and result[0].action == "replaced"
    with pytest.raises(bpatch.Error):  # the patch no longer fits its source
        bpatch.apply_patch(patch, d / "old.bin", d / "again.bin")
    assert not (d / "again.bin").exists()


def test_apply_script(root, tmp_path):
    (root / "a.bin").write_bytes(b"0123456789")
    (root / "gone.bin").write_bytes(b"x")
    h = bpatch.hash_file(root / "a.bin")
    script = tmp_path / "change.bpatch"
    script.write_text(
        "bpatch 1\n"
        f"edit a.bin expect=xxh3:{h}\n"
        "  write 0x2 hex:4142\n"
        "  append hex:21\n"
        "put new/b.bin hex:6869 mode=0600\n"
        "remove gone.bin\n"
    )
    before = snapshot(root)
    dry = bpatch.apply_script(script, root=root, dry_run=True)
    assert dry.dry_run and snapshot(root) == before
    result = bpatch.apply_script(script, root=str(root))
    assert (root / "a.bin").read_bytes() == b"01AB456789!"
    assert (root / "new/b.bin").read_bytes() == b"hi"
    assert not (root / "gone.bin").exists()
    assert [r.action for r in result] == ["replaced", "created", "removed"]
    with pytest.raises(bpatch.Error) as info:  # a.bin no longer matches expect=
        bpatch.apply_script(script, root=root)
    assert info.value.code == "wrong_source"


def test_apply_script_syntax_error(root, tmp_path):
    script = tmp_path / "bad.bpatch"
    script.write_text("bpatch 1\nfrobnicate a.bin\n")
    with pytest.raises(bpatch.Error) as info:
        bpatch.apply_script(script, root=root)
    assert info.value.code == "script_syntax" and "line 2" in str(info.value)


def test_custom_journal_status_and_recover(root, tmp_path):
    (root / "a.bin").write_bytes(b"a")
    journal = tmp_path / "journal"
    with bpatch.Transaction(root, journal=journal) as tx:
        tx.append("a.bin", b"b")
    assert tx.journal == str(journal) and journal.is_dir()
    assert not (root / ".bpatch").exists()
    assert bpatch.status(root, journal=journal) == []
    assert bpatch.recover(root, journal=journal) == []
    assert (root / "a.bin").read_bytes() == b"ab"


def test_absolute_target_inside_root(root):
    (root / "a.bin").write_bytes(b"a")
    with bpatch.Transaction(root) as tx:
        tx.append(root / "a.bin", b"b")
    assert (root / "a.bin").read_bytes() == b"ab"
    assert tx.result[0].target == str(root / "a.bin")
