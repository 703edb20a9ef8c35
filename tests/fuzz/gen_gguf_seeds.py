#!/usr/bin/env python3
"""gen_gguf_seeds.py — write the small GGUF seed files for fuzz_gguf.

An independent little GGUF encoder (struct only), so the seeds also cross-check
engine/gguf/gguf.c: tests/test_gguf.c opens every seed and expects success.
Run from the repository root:  python3 tests/fuzz/gen_gguf_seeds.py
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "gguf")

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
FIXED = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i",
         F32: "<f", BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
F32_T, F16_T, Q4_0_T, Q8_0_T, Q4_K_T, Q6_K_T, BF16_T = 0, 1, 2, 8, 12, 14, 30
BLOCK = {F32_T: (1, 4), F16_T: (1, 2), Q4_0_T: (32, 18), Q8_0_T: (32, 34),
         Q4_K_T: (256, 144), Q6_K_T: (256, 210), BF16_T: (1, 2)}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(vtype, v):
    if vtype in FIXED:
        return struct.pack(FIXED[vtype], v)
    if vtype == STR:
        return gstr(v)
    elem_type, items = v
    out = struct.pack("<IQ", elem_type, len(items))
    return out + b"".join(value(elem_type, x) for x in items)


def gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, type, shape)], data is a byte pattern."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, vtype, v in kvs:
        out += gstr(key) + struct.pack("<I", vtype) + value(vtype, v)
    blobs, offset = [], 0
    for name, ttype, shape in tensors:
        blck, size = BLOCK[ttype]
        rows = 1
        for d in shape[1:]:
            rows *= d
        nbytes = shape[0] // blck * size * rows
        out += gstr(name) + struct.pack("<I", len(shape))
        out += b"".join(struct.pack("<Q", d) for d in shape)
        out += struct.pack("<IQ", ttype, offset)
        blob = bytes((i * 7 + len(blobs)) & 0x3f for i in range(nbytes))
        blob += b"\0" * (-nbytes % alignment)
        blobs.append(blob)
        offset += len(blob)
    out += b"\0" * (-len(out) % alignment)
    return out + b"".join(blobs)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "empty.gguf": gguf([], []),
        "all_value_types.gguf": gguf([
            ("general.architecture", STR, "llama"),
            ("k.u8", U8, 200), ("k.i8", I8, -5), ("k.u16", U16, 60000),
            ("k.i16", I16, -300), ("k.u32", U32, 7), ("k.i32", I32, -7),
            ("k.f32", F32, 0.5), ("k.bool", BOOL, True), ("k.str", STR, "héllo"),
            ("k.u64", U64, 1 << 40), ("k.i64", I64, -(1 << 40)), ("k.f64", F64, 2.5),
            ("a.str", ARR, (STR, ["", "a", "bc"])), ("a.f32", ARR, (F32, [1.0, -2.0])),
            ("a.i32", ARR, (I32, [1, -1, 3])), ("a.u8", ARR, (U8, [1, 2, 3])),
            ("a.bool", ARR, (BOOL, [True, False])), ("a.empty", ARR, (U64, [])),
            ("a.nested", ARR, (ARR, [(U8, [1, 2]), (STR, ["x"]), (ARR, [(I16, [-1])])])),
        ], [("t.f32", F32_T, [4, 2]), ("t.q8_0", Q8_0_T, [32]), ("t.f16", F16_T, [2, 2, 2, 2])]),
        "v2_small_model.gguf": gguf([
            ("general.architecture", STR, "llama"),
            ("llama.embedding_length", U32, 32), ("llama.block_count", U32, 1),
            ("tokenizer.ggml.tokens", ARR, (STR, ["<unk>", "<s>", "</s>"] +
                                        ["tok%d" % i for i in range(29)])),
            ("tokenizer.ggml.scores", ARR, (F32, [float(-i) for i in range(32)])),
            ("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3] + [1] * 29)),
        ], [("token_embd.weight", Q4_0_T, [32, 32]), ("output_norm.weight", F32_T, [32]),
            ("blk.0.ffn_down.weight", Q4_K_T, [256, 2]), ("blk.0.ffn_up.weight", Q6_K_T, [256, 1])],
            version=2),
        "align64.gguf": gguf([("general.alignment", U32, 64)],
                             [("a", BF16_T, [3]), ("b", Q4_0_T, [64, 1, 1])], alignment=64),
    }
    for name, data in seeds.items():
        assert len(data) < 20 * 1024, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
