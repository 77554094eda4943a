"""The model: the five reference architectures exactly, zero initial states, a padding id of its own."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lstmtc.train import PRESETS, LSTMClassifier, ModelConfig

VOCAB = 37
CLASSES = 4


def _lstm(prefix: str, layer: int, inp: int, hid: int, reverse: bool = False) -> dict:
    s = f"_l{layer}" + ("_reverse" if reverse else "")
    return {
        f"{prefix}.weight_ih{s}": (4 * hid, inp),
        f"{prefix}.weight_hh{s}": (4 * hid, hid),
        f"{prefix}.bias_ih{s}": (4 * hid,),
        f"{prefix}.bias_hh{s}": (4 * hid,),
    }


EMBED = {"embedding.weight": (VOCAB, 50)}

# SPEC.md's table, written out: every parameter and its shape.
EXPECTED_SHAPES = {
    # 1 and 2: LSTM(50 -> 75), one layer; Linear(75 -> classes).
    1: {**EMBED, **_lstm("lstms.0", 0, 50, 75), "head.weight": (CLASSES, 75), "head.bias": (CLASSES,)},
    2: {**EMBED, **_lstm("lstms.0", 0, 50, 75), "head.weight": (CLASSES, 75), "head.bias": (CLASSES,)},
    # 3: LSTM(50 -> 75, num_layers=3): one module, layers 1 and 2 read 75 features.
    3: {**EMBED, **_lstm("lstms.0", 0, 50, 75), **_lstm("lstms.0", 1, 75, 75), **_lstm("lstms.0", 2, 75, 75),
        "head.weight": (CLASSES, 75), "head.bias": (CLASSES,)},
    # 4: three separate modules LSTM(50 -> 50) -> LSTM(50 -> 60) -> LSTM(60 -> 75).
    4: {**EMBED, **_lstm("lstms.0", 0, 50, 50), **_lstm("lstms.1", 0, 50, 60), **_lstm("lstms.2", 0, 60, 75),
        "head.weight": (CLASSES, 75), "head.bias": (CLASSES,)},
    # 5: LSTM(50 -> 75, num_layers=3, bidirectional): upper layers read 150; Linear(150 -> classes).
    5: {**EMBED,
        **_lstm("lstms.0", 0, 50, 75), **_lstm("lstms.0", 0, 50, 75, reverse=True),
        **_lstm("lstms.0", 1, 150, 75), **_lstm("lstms.0", 1, 150, 75, reverse=True),
        **_lstm("lstms.0", 2, 150, 75), **_lstm("lstms.0", 2, 150, 75, reverse=True),
        "head.weight": (CLASSES, 150), "head.bias": (CLASSES,)},
}

# (input_size, hidden_size, num_layers, bidirectional) of each nn.LSTM module, in order.
EXPECTED_MODULES = {
    1: [(50, 75, 1, False)],
    2: [(50, 75, 1, False)],
    3: [(50, 75, 3, False)],
    4: [(50, 50, 1, False), (50, 60, 1, False), (60, 75, 1, False)],
    5: [(50, 75, 3, True)],
}
EXPECTED_MAX_TOKENS = {1: 25, 2: 50, 3: 50, 4: 50, 5: 50}


def preset_model(preset: int, vocab: int = VOCAB, classes: int = CLASSES, **kw) -> LSTMClassifier:
    arch = {k: v for k, v in PRESETS[preset].items() if k != "max_tokens"}
    return LSTMClassifier(ModelConfig(vocab_size=vocab, num_classes=classes, **arch, **kw))


def test_presets_are_the_five_reference_approaches():
    assert sorted(PRESETS) == [1, 2, 3, 4, 5]
    assert {p: PRESETS[p]["max_tokens"] for p in PRESETS} == EXPECTED_MAX_TOKENS


@pytest.mark.parametrize("preset", [1, 2, 3, 4, 5])
def test_preset_parameter_shapes(preset):
    torch.manual_seed(0)
    model = preset_model(preset)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes == EXPECTED_SHAPES[preset]


@pytest.mark.parametrize("preset", [1, 2, 3, 4, 5])
def test_preset_modules(preset):
    model = preset_model(preset)
    assert isinstance(model.embedding, nn.Embedding)
    assert (model.embedding.num_embeddings, model.embedding.embedding_dim) == (VOCAB, 50)
    lstms = [m for m in model.modules() if isinstance(m, nn.LSTM)]
    assert [(m.input_size, m.hidden_size, m.num_layers, m.bidirectional) for m in lstms] == EXPECTED_MODULES[preset]
    assert all(m.batch_first for m in lstms)
    heads = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(heads) == 1
    assert (heads[0].in_features, heads[0].out_features) == (150 if preset == 5 else 75, CLASSES)


@pytest.mark.parametrize("classes", [2, 7])
def test_presets_fix_architecture_not_class_count(classes):
    model = preset_model(5, classes=classes)
    assert tuple(model.head.weight.shape) == (classes, 150)
    out = model.eval()(torch.randint(0, VOCAB, (3, 9)))
    assert out.shape == (3, classes)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        ModelConfig(vocab_size=10, num_classes=1)
    with pytest.raises(ValueError):
        ModelConfig(vocab_size=10, num_classes=4, hidden_sizes=())
    with pytest.raises(ValueError):
        ModelConfig(vocab_size=10, num_classes=4, hidden_sizes=(8, 0))


def test_forward_takes_int64_ids_returns_batch_by_classes():
    model = preset_model(2, vocab=20, embed_dim=8).eval()
    ids = torch.randint(0, 20, (5, 11), dtype=torch.int64)
    out = model(ids)
    assert out.shape == (5, CLASSES)
    assert out.dtype == torch.float32


@pytest.mark.parametrize("preset", [1, 3, 4, 5])
def test_zero_initial_states_are_deterministic(preset):
    torch.manual_seed(1)
    model = preset_model(preset).eval()
    ids = torch.randint(0, VOCAB, (4, 12))
    with torch.no_grad():
        a = model(ids)
        torch.manual_seed(123)  # a different global RNG state must not matter (the reference used randn)
        b = model(ids)
    assert torch.equal(a, b)


@pytest.mark.parametrize("preset", [1, 3, 4, 5])
def test_forward_equals_lstm_with_explicit_zero_states(preset):
    torch.manual_seed(2)
    model = preset_model(preset).eval()
    ids = torch.randint(0, VOCAB, (3, 10))
    with torch.no_grad():
        x = model.embedding(ids)
        for lstm in model.lstms:
            dirs = 2 if lstm.bidirectional else 1
            shape = (lstm.num_layers * dirs, ids.shape[0], lstm.hidden_size)
            x, _ = lstm(x, (torch.zeros(shape), torch.zeros(shape)))
        manual = model.head(x[:, -1, :])
        got = model(ids)
        # And a non-zero initial state really changes the result, so the comparison can fail.
        lstm = model.lstms[0]
        dirs = 2 if lstm.bidirectional else 1
        shape = (lstm.num_layers * dirs, ids.shape[0], lstm.hidden_size)
        y, _ = lstm(model.embedding(ids), (torch.randn(shape), torch.randn(shape)))
    torch.testing.assert_close(got, manual, rtol=0, atol=1e-6)
    assert not torch.allclose(y, model.lstms[0](model.embedding(ids))[0])


def test_padding_index_has_zero_embedding_and_differs_from_unk():
    cfg = ModelConfig(vocab_size=12, num_classes=3, embed_dim=6, hidden_sizes=(8,))
    model = LSTMClassifier(cfg)
    assert cfg.pad_index == 1
    assert model.embedding.padding_idx == 1
    assert torch.count_nonzero(model.embedding.weight[1]) == 0
    assert torch.count_nonzero(model.embedding.weight[0]) > 0  # <unk> (0) is a learned word vector
    ids = torch.tensor([[5, 1, 1], [5, 0, 0]])
    with torch.no_grad():
        out = model.eval()(ids)
    assert not torch.allclose(out[0], out[1])


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_pooled_head_reads_real_tokens_only(pooling):
    if "pooling" not in ModelConfig.__dataclass_fields__:
        pytest.skip("this ModelConfig has no pooling option")
    torch.manual_seed(4)
    model = LSTMClassifier(ModelConfig(vocab_size=12, num_classes=3, embed_dim=6, hidden_sizes=(8,),
                                       pooling=pooling)).eval()
    with torch.no_grad():
        # An empty document (only padding) reads a zero feature vector: the logits are the head's bias.
        empty = model(torch.full((2, 7), 1))
        torch.testing.assert_close(empty, model.head.bias.expand(2, 3))
        # Padding after the words does not change a pooled result.
        short = model(torch.tensor([[4, 5, 6]]))
        padded = model(torch.tensor([[4, 5, 6, 1, 1, 1, 1]]))
    torch.testing.assert_close(short, padded, rtol=0, atol=1e-6)


def test_describe_names_the_architecture_and_counts_every_weight():
    m = LSTMClassifier(ModelConfig(vocab_size=30, num_classes=3, embed_dim=6, hidden_sizes=(5,), bidirectional=True,
                                   pooling="max", ngram_buckets=16, ngram_dim=2))
    n = sum(p.numel() for p in m.parameters())
    assert m.describe() == ("model: embedding 30 x 6 -> bi-LSTM 5, max-pooled beside an n-gram bag (2-d) -> "
                            f"3 classes; {n:,} weights ({n * 4 / 1e6:.1f} MB in fp32)")
    stacked = LSTMClassifier(ModelConfig(vocab_size=30, num_classes=4, hidden_sizes=(4, 3), num_layers=1))
    assert "-> LSTM 4 -> LSTM 3, read at its last step -> 4 classes" in stacked.describe()
    deep = LSTMClassifier(ModelConfig(vocab_size=30, num_classes=2, hidden_sizes=(3,), num_layers=3,
                                      bidirectional=True))
    assert "bi-LSTM 3 x 3 layers" in deep.describe()
