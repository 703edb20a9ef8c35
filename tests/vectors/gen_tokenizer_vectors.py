#!/usr/bin/python3
r"""gen_tokenizer_vectors.py — reference token ids for the Llama 2 tokenizer.

Runs the real SentencePiece (Debian's python3-sentencepiece) on the Llama 2
tokenizer.model and writes llama2_tokenizer.tsv: one line per text,
"<escaped text>\t<ids>", ids space-separated with BOS (1) first, i.e.
[1] + sp.encode(text) — what llama.cpp's SPM tokenizer must produce with
add_special = true and parse_special = false.

It also writes stories260k_tokenizer.tsv for stories260K's own 512-token
vocabulary (tok512.bin, llama2.c's format), using an independent, plain
re-implementation of llama2.c's encoder (dummy-prefix space, repeated
best-score pair merge, byte fallback to ids 3 + byte).

Escapes in the text column: \\ \t \n \r and \xNN for other control bytes.

    /usr/bin/python3 tests/vectors/gen_tokenizer_vectors.py /work/shared/models tests/vectors
"""
import os
import struct
import sys

import sentencepiece as spm

TEXTS = [
    "",
    "I believe the meaning of life is",
    "Simply put, the theory of relativity states that ",
    "Hello world",
    "hello world",
    "Hello, World!",
    " leading space",
    "  two leading spaces",
    "trailing space ",
    "trailing spaces   ",
    "   ",
    " ",
    "a",
    "multiple    spaces   between     words",
    "tab\tseparated\tvalues",
    "line one\nline two\n",
    "\n\nparagraph\n\n\nbreaks\n",
    "windows\r\nline endings\r\n",
    "\t\tindented with tabs",
    "Le café est très bon, n'est-ce pas ? À bientôt !",
    "Où est la bibliothèque ? Élève, garçon, cœur, naïve, Noël.",
    "Grüße aus München! Die Straße ist schön, Ärger über Öl.",
    "Fußgängerübergänge und Donaudampfschifffahrtsgesellschaftskapitän",
    "¿Dónde está el baño? Mañana será otro día.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ελληνικά: Καλημέρα κόσμε",
    "日本語のテキストです。東京は大きい都市です。",
    "中文文本：我爱自然语言处理。",
    "한국어 문장입니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "हिन्दी में पाठ",
    "emoji 😀 and 🎉 and 👍🏽 and 👨‍👩‍👧",
    "🦙🦙🦙",
    "rare: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and 𓀀 and \U0010FFFD",
    "math: ∀x ∈ ℝ, ∃y : x² + y² ≥ 0 ∴ √2 ≈ 1.414",
    "box ┌─┐ │ │ └─┘ and arrows ← → ↑ ↓",
    "int main(void) { return 0; }",
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}",
    "<html><body class=\"x\">Hi &amp; bye</body></html>",
    "SELECT * FROM jobs WHERE id = 42 AND status <> 'done';",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
    "x = y != z && w || !v; a->b; c::d; e => f",
    "12345",
    "3.14159265358979",
    "1,000,000 and 1.000.000 and 1 000 000",
    "Phone: +1 (555) 123-4567, ZIP 90210",
    "2024-01-15T10:30:00Z",
    "$100.00 €50 £30 ¥1000",
    "https://www.example.com/path/to/page?query=value&other=123#anchor",
    "mailto:someone@example.org",
    "C:\\Users\\name\\Documents\\file.txt",
    "Don't won't can't shouldn't I'm you're they've we'll he'd",
    "\"Quoted\" 'single' «guillemets» „German“ “curly” ‘quotes’",
    "em—dash en–dash ellipsis… bullet • middot ·",
    "Supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis" * 3,
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789",
    "!@#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "<s>not special</s> [INST] hi [/INST] <<SYS>>",
    "<unk> <0x41> <pad>",
    "ﬁ ligature, ｆｕｌｌｗｉｄｔｈ, ½ fraction, Å angstrom",
    "combining: e\u0301 a\u0308 n\u0303",
    "zero\u200bwidth\u200djoiner\ufeffbom",
    "\u00a0non-breaking\u00a0space",
    "control \x01\x02\x7f bytes",
    "The quick brown fox jumps over the lazy dog. " * 4,
    "CamelCaseIdentifierName snake_case_name kebab-case-name",
    "Mixed 中文 and English and 日本語 together",
    "ThisIsAVeryLongWordWithoutSpacesThatGoesOnAndOnAndOnForAWhile",
]


def escape(text):
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\x%02X" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


STORIES_TEXTS = [
    "",
    "Once upon a time",
    "Once upon a time, there was a little girl named Lily.",
    "She loved to play outside in the park.",
    " leading and  double  spaces ",
    "line\nbreak",
    "Lily's mom said, \"Let's go!\"",
    "numbers 12345 and symbols #@%",
    "café and 日本",
    "emoji 🦙",
]


def load_llama2c_vocab(path):
    with open(path, "rb") as f:
        data = f.read()
    pos = 4  # max_token_length
    pieces, scores = [], []
    for _ in range(512):
        score, n = struct.unpack_from("<fi", data, pos)
        pos += 8
        pieces.append(data[pos:pos + n])
        pos += n
        scores.append(score)
    return pieces, scores


def llama2c_encode(text, pieces, scores):
    """llama2.c's encode(): BOS, dummy prefix, merge best pairs until none."""
    index = {p: i for i, p in enumerate(pieces)}
    ids = [1]
    if text == "":
        return ids
    toks = [index[b" "]]
    for ch in text:
        b = ch.encode("utf-8")
        if b in index:
            toks.append(index[b])
        else:
            toks.extend(3 + x for x in b)
    while True:
        best, best_i = None, -1
        for i in range(len(toks) - 1):
            j = index.get(pieces[toks[i]] + pieces[toks[i + 1]])
            if j is not None and (best is None or scores[j] > scores[best]):
                best, best_i = j, i
        if best is None:
            break
        toks[best_i:best_i + 2] = [best]
    return ids + toks


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        out.write("# %s; text<TAB>ids (BOS first)\n" % header)
        for text, ids in rows:
            out.write("%s\t%s\n" % (escape(text), " ".join(str(i) for i in ids)))


def main():
    models, out_dir = sys.argv[1], sys.argv[2]
    sp = spm.SentencePieceProcessor(model_file=os.path.join(models, "tokenizer.model"))
    write_tsv(os.path.join(out_dir, "llama2_tokenizer.tsv"),
              "generated by gen_tokenizer_vectors.py with SentencePiece from the Llama 2 "
              "tokenizer.model",
              [(t, [sp.bos_id()] + sp.encode(t)) for t in TEXTS])
    pieces, scores = load_llama2c_vocab(os.path.join(models, "tok512.bin"))
    write_tsv(os.path.join(out_dir, "stories260k_tokenizer.tsv"),
              "generated by gen_tokenizer_vectors.py with a llama2.c-style encoder from "
              "tok512.bin",
              [(t, llama2c_encode(t, pieces, scores)) for t in STORIES_TEXTS])


if __name__ == "__main__":
    main()
