"""Random damage to a byte stream for the codec fuzz tests: replace, insert or delete a byte, or cut
the stream short, at drawn positions."""

from __future__ import annotations

from hypothesis import strategies as st

mutation_ops = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate"]), st.integers(0), st.integers(0, 255)
    ),
    min_size=1,
    max_size=6,
)


def mutate(stream: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    mutated = bytearray(stream)
    for op, position, value in ops:
        index = position % (len(mutated) + 1)
        if op == "insert":
            mutated.insert(index, value)
        elif op == "truncate":
            del mutated[index:]
        elif index < len(mutated):
            if op == "replace":
                mutated[index] = value
            else:
                del mutated[index]
    return bytes(mutated)
