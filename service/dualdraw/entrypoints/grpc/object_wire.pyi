"""An import chunk's objects read from its wire bytes, in C (``object_wire.c``)."""

def read_objects(
    chunk: bytes,
) -> (
    tuple[
        tuple[str, ...],
        tuple[str, ...],
        tuple[str, ...],
        tuple[str, ...],
        tuple[str, ...],
        tuple[str, ...],
        tuple[str, ...],
        tuple[tuple[str, ...], ...],
        tuple[int, ...],
        tuple[int, ...],
        int,
        bool,
    ]
    | None
):
    """The fields of the objects of a serialized ``ImportDirectoryRequest``, one tuple per field (credit
    codes, display names, region codes, registering departments, industries, offices, resource names,
    business lines, risk classes, statuses), then the length in characters of their longest string and
    whether any of their strings holds a control character other than tab, line feed and carriage return.
    ``None`` for bytes this reader does not expect (a group, a known field with another wire type)."""
