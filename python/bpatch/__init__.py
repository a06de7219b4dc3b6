"""bpatch: crash-safe, all-or-nothing changes to binary files.

A Transaction collects edits, patches, new files and removals on many files
and commits them at once: after a crash at any instant the files are either
all as they were or all changed (recover() finishes or undoes a commit that
was cut short). An exception raised inside ``with Transaction(...)`` discards
everything, and nothing is written::

    import bpatch
    with bpatch.Transaction("/data") as tx:
        tx.write("a.bin", 16, b"\\xde\\xad")
        tx.put("new/d.bin", b"...")

The compiled part is bpatch._bpatch (the C++ library, bound with pybind11);
its type stubs are in _bpatch.pyi.
"""

from ._bpatch import (
    CommitResult as CommitResult,
    Error as Error,
    FileResult as FileResult,
    IncompleteCommit as IncompleteCommit,
    LockedError as LockedError,
    PendingTransaction as PendingTransaction,
    Transaction as Transaction,
    __version__ as __version__,
    apply_patch as apply_patch,
    apply_script as apply_script,
    hash_bytes as hash_bytes,
    hash_file as hash_file,
    recover as recover,
    status as status,
    undo as undo,
)

__all__ = [
    "CommitResult",
    "Error",
    "FileResult",
    "IncompleteCommit",
    "LockedError",
    "PendingTransaction",
    "Transaction",
    "apply_patch",
    "apply_script",
    "hash_bytes",
    "hash_file",
    "recover",
    "status",
    "undo",
]
