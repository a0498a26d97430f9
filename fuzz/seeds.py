#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<target>/ (committed): for every op of each target's
family, both dtypes, a few shapes (channels-last and channels-first, offsets, both
subgradients, malformed shapes) over data made of the special values that matter (NaNs with
payloads and both signs, signalling NaNs, +-0, +-inf, subnormals, +-1). The byte layout is the
one `fuzz/src/harness.rs` decodes. Rerun after adding ops: python3 fuzz/seeds.py"""
import os, struct

# Number of ops per family (indices wrap modulo the family's size in the harness).
FAMILIES = {"forward": 8, "backward": 22, "mask": 12}

F32 = [0x7fc00000, 0xffc00000, 0x7fc01234, 0xffd55555, 0x7f800001, 0xff800abc, 0x00000000,
       0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x80000001, 0x007fffff, 0x3f800000,
       0xbf800000, 0x40000000, 0xc0000000, 0x00800000, 0x80800000, 0x7f7fffff, 0xff7fffff,
       0x3f000000, 0xbf000000, 0x12345678]
F64 = [0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000012345678, 0xfffaaaaaaaaaaaaa,
       0x7ff0000000000001, 0xfff0000000000abc, 0, 0x8000000000000000, 0x7ff0000000000000,
       0xfff0000000000000, 1, 0x8000000000000001, 0x000fffffffffffff, 0x3ff0000000000000,
       0xbff0000000000000, 0x4000000000000000, 0xc000000000000000, 0x0010000000000000,
       0x8010000000000000, 0x7fefffffffffffff, 0xffefffffffffffff, 0x3fe0000000000000,
       0xbfe0000000000000, 0x123456789abcdef0]

def seed(op, dtype, flags, channels_byte, layout_byte, tame, n):
    size = 4 if dtype == 0 else 8
    specials = F32 if dtype == 0 else F64
    fmt = "<I" if size == 4 else "<Q"
    out = bytes([op, dtype, flags, channels_byte, layout_byte, tame])
    slope_bits = [0x3e800000 if size == 4 else 0x3fd0000000000000] * 9  # 0.25 (raw) or tame
    for b in slope_bits:
        out += struct.pack(fmt, b)
    data = b""
    for i in range(2 * n):  # z then dy
        data += struct.pack(fmt, specials[(i * 7 + op) % len(specials)])
    return out + data

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
for target, nops in FAMILIES.items():
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    k = 0
    for op in range(nops):
        for dtype in (0, 1):
            variants = [
                (0, 2, 0, 1, 48),                 # left, offset 0, C=3 channels-last, raw slopes
                (1 | (5 << 1), 0, 1 | (4 << 1), 1, 72),  # right, offset 5, C=1, channels-first S=4
                ((1 << 5) | (3 << 1), 1, 0, 1, 20),  # malformed: dst length
                ((2 << 5), 3, 1 | (2 << 1), 1, 64),  # malformed: da length; C=4, S=2
                ((3 << 5), 0, 0, 1, 130),          # malformed: mask words
            ]
            for flags, ch, lay, tame, n in variants:
                with open(os.path.join(d, f"seed-{k:04d}"), "wb") as f:
                    f.write(seed(op, dtype, flags, ch, lay, tame, n))
                k += 1
    print(target, k, "seeds")

# Maxout: [op, dtype, flags (k mode | layout | mode | offset), k byte, malformed, bad_index, data].
MAXOUT = {"maxout_forward": 2, "maxout_backward": 1}
for target, nops in MAXOUT.items():
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    k = 0
    for op in range(nops):
        for dtype in (0, 1):
            size = 4 if dtype == 0 else 8
            specials = F32 if dtype == 0 else F64
            fmt = "<I" if size == 4 else "<Q"
            for flags, kbyte, malformed, bad, count in [
                (0, 1, 0, 0, 40),           # k = 2 (small-k mode), interleaved
                (2 | 4, 1, 0, 0, 64),       # k = 4 (power-of-two mode), planar
                (1 | (3 << 4), 16, 0, 0, 70),  # k = 17, offset 3
                (1 | 4 | 8, 4, 0, 7, 50),   # k = 5 planar, accumulate, an index out of range
                (2, 3, 1, 0, 33),           # k = 16, input not a multiple of k
                (0, 0, 3, 0, 12),           # k = 0
                (3, 2, 0, 0, 40),           # k = 9 (large-k mode)
            ]:
                data = b"".join(struct.pack(fmt, specials[(i * 5 + flags) % len(specials)]) for i in range(count))
                with open(os.path.join(d, f"seed-{k:04d}"), "wb") as f:
                    f.write(bytes([op, dtype, flags, kbyte, malformed, bad]) + data)
                k += 1
    print(target, k, "seeds")

# The C ABI (`c_abi`) and the raw-byte API (`raw`): one op of the whole inventory (the C table's
# order, which equals the inventory's), parsed from src/ffi/table.rs for its buffer count.
# Layout (see `plan`, `place`, `run_c_abi`, `run_raw` in fuzz/src/harness.rs):
# [op, dtype, rows, channels, spatial, groups, k, perturb, (value if perturb % 4 == 0),
#  backend, layout, sub, maxout_layout, grad_mode, slope (8 bytes)] then
# c_abi: [random offsets?, per buffer (how, sel lo, sel hi), valid indices?] + arena data;
# raw:   [per buffer how] + data.
import re
table = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "ffi", "table.rs")).read()
kernels = table[table.index("ffi_kernels! {"):table.index("ffi_functions! {")]
rows = re.findall(r"\n\s*(\w+)\(((?:[^()]|\([^()]*\))*)\)\s*=>", kernels)
BUFFER = ("In(", "Out(", "InOut(", "MaskIn(", "MaskOut(", "IndexIn(", "IndexOut(")
nbufs = [sum(1 for p in params.split(",") if p.split(":")[-1].strip().startswith(BUFFER)) for _, params in rows]

def data_bytes(dtype, op, count=64):
    specials = F32 if dtype == 0 else F64
    fmt = "<I" if dtype == 0 else "<Q"
    # Small numbers too (so maxout indices and slopes vary), then the special values.
    return b"".join(struct.pack(fmt, specials[(i * 5 + op) % len(specials)]) for i in range(count))

def plan_bytes(op, dtype, enum, backend, perturb=(1,), slope=0x3e800000):
    # rows 3, channels 2 (byte 1), spatial 2, groups 5, k 3 (byte 2)
    return bytes([op, dtype, 3, 1, 2, 5, 2, *perturb, backend, enum, enum, enum, enum]) + struct.pack("<Q", slope)

for target in ("c_abi", "raw"):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    k = 0
    for op, nb in enumerate(nbufs):
        for dtype in (0, 1):
            variants = []
            # valid, disjoint, auto backend, enumerations 0 (channels-last, left, interleaved, overwrite)
            variants.append((plan_bytes(op, dtype, 0, 0), 0, [4] * nb))
            # valid, scalar backend, enumerations 1 (channels-first, right, planar, accumulate), gaps
            variants.append((plan_bytes(op, dtype, 1, 8), 0, [4 + 32 * (i % 3) for i in range(nb)]))
            # random offsets in one allocation (overlaps)
            variants.append((plan_bytes(op, dtype, 0, 9), 1, [4] * nb))
            # one failure, rotating: NULL, misaligned, near the end of the address space, a huge
            # count, an unknown enumeration value / backend
            which = (op + dtype) % 5
            hows = [4] * nb
            pb = plan_bytes(op, dtype, 0, 0)
            if which == 0:
                hows[-1] = 0
            elif which == 1:
                hows[min(1, nb - 1)] = 2
            elif which == 2:
                hows[0] = 1
            elif which == 3:
                pb = plan_bytes(op, dtype, 0, 0, perturb=(0, 1))
            else:
                pb = plan_bytes(op, dtype, 15, 13)
            variants.append((pb, 0, hows))
            for pb, random, hows in variants:
                if target == "c_abi":
                    body = bytes([random]) + b"".join(bytes([h, (8 * i + 4 * random) % 256, 0]) for i, h in enumerate(hows)) + bytes([1])
                else:
                    body = bytes([3 if h == 2 else (9 if h == 1 else h) for h in hows])
                with open(os.path.join(d, f"seed-{k:04d}"), "wb") as f:
                    f.write(pb + body + data_bytes(dtype, op))
                k += 1
    print(target, k, "seeds")
