"""A pure-Python model of bpatch's edit ops: the oracle of test_ops.py.

Each op is a tuple (name, *args) exactly as passed to Transaction.<name>
after the path. apply_op changes a bytearray as bpatch documents, or raises
OutOfRange where bpatch must refuse the op (and the whole transaction).
"""


class OutOfRange(Exception):
    pass


def apply_op(data: bytearray, op) -> None:
    name, *args = op
    size = len(data)
    if name == "write":
        offset, payload = args
        if offset > size:
            raise OutOfRange(op)
        data[offset : offset + len(payload)] = payload
    elif name == "fill":
        offset, length, value = args
        if offset > size:
            raise OutOfRange(op)
        data[offset : offset + length] = bytes([value]) * length
    elif name == "insert":
        offset, payload = args
        if offset > size:
            raise OutOfRange(op)
        data[offset:offset] = payload
    elif name == "delete":
        offset, length = args
        if offset > size or length > size - offset:
            raise OutOfRange(op)
        del data[offset : offset + length]
    elif name == "truncate":
        (new_size,) = args
        if new_size < size:
            del data[new_size:]
        else:
            data.extend(bytes(new_size - size))
    elif name == "append":
        (payload,) = args
        data.extend(payload)
    else:
        raise ValueError(name)


def apply_ops(original: bytes, ops) -> bytes:
    data = bytearray(original)
    for op in ops:
        apply_op(data, op)
    return bytes(data)
