"""The transformers backend on a tiny LLaMA with a tokenizer trained here (no downloads)."""

import json
import threading

import pytest

from models.base import BackendError
from tests.models.tiny import build_tiny_adapter, build_tiny_model

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def backend(tiny_dir):
    from models.hf import HFBackend

    b = HFBackend(str(tiny_dir))
    yield b
    b.close()


PROMPT = "def f(x):\n    return x + 1\n"


def test_streams_the_same_text_as_batched_greedy_generation(backend):
    chunks = list(backend.stream(PROMPT, max_new_tokens=24))
    assert len(chunks) > 1
    [batched] = backend.generate([PROMPT], max_new_tokens=24)
    assert "".join(chunks) == batched and batched


def test_stop_string_ends_the_stream_and_is_kept(backend):
    full = "".join(backend.stream(PROMPT, max_new_tokens=24))
    at = next(i for i in range(len(full) // 2, len(full) - 3) if full[i:i + 3].strip() == full[i:i + 3])
    stop = full[at:at + 3]
    text = "".join(backend.stream(PROMPT, max_new_tokens=24, stop=[stop]))
    assert text.endswith(stop) and stop not in text[:-len(stop)]
    assert backend.generate([PROMPT], max_new_tokens=24, stop=[stop]) == [text]


def test_batch_of_prompts_and_sampling(backend):
    texts = backend.generate([PROMPT, "import os\n", "class A:\n"], max_new_tokens=8)
    assert len(texts) == 3
    assert texts[0] == backend.generate([PROMPT], max_new_tokens=8)[0]  # left padding does not change greedy output
    samples = backend.generate([PROMPT], max_new_tokens=8, temperature=1.0, n=2)
    assert len(samples) == 2


def test_consumer_that_stops_early_cancels_generation(backend):
    stream = backend.stream(PROMPT, max_new_tokens=2000)
    first = next(stream)
    assert first
    stream.close()  # the TUI stepping away
    assert not any(t.name == "duck-hf-generate" and t.is_alive() for t in threading.enumerate())


def test_cancel_from_another_thread(backend):
    received = []
    for chunk in backend.stream(PROMPT, max_new_tokens=2000):
        received.append(chunk)
        if len(received) == 3:
            threading.Thread(target=backend.cancel).start()
    assert 3 <= len(received) < 200


def test_adapter_folder_loads_base_plus_lora(tiny_dir, tmp_path):
    from models.hf import HFBackend

    adapter = build_tiny_adapter(tiny_dir, tmp_path / "adapter")
    (adapter / "duck.json").write_text(json.dumps({"prompt_format": "semcoder", "base_model": str(tiny_dir), "adapter": True}))
    b = HFBackend(str(adapter))
    assert type(b.model).__name__.startswith("PeftModel")
    assert b.info["prompt_format"] == "semcoder"
    assert b.name == "adapter (hf)"
    assert "".join(b.stream(PROMPT, max_new_tokens=6))


@pytest.mark.parametrize("bits, layer_type", [(4, "Linear4bit"), (8, "Linear8bitLt")])
def test_quantized_loading_on_cpu(tiny_dir, bits, layer_type):
    pytest.importorskip("bitsandbytes")
    from models.hf import HFBackend

    try:
        b = HFBackend(str(tiny_dir), load_in_4bit=bits == 4, load_in_8bit=bits == 8)
    except BackendError as error:  # pragma: no cover - depends on the bitsandbytes build
        pytest.skip(f"bitsandbytes {bits}-bit does not work on this CPU: {error}")
    layer = b.model.model.layers[0].self_attn.q_proj
    assert type(layer).__name__ == layer_type
    assert b.generate([PROMPT], max_new_tokens=4)[0]


def test_clear_errors_for_bad_paths(tmp_path):
    from models.hf import HFBackend

    with pytest.raises(BackendError, match="no model folder"):
        HFBackend(str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackendError, match="config.json"):
        HFBackend(str(empty))
    (empty / "config.json").write_text("{}")
    with pytest.raises(BackendError) as info:
        HFBackend(str(empty))
    assert info.value.hint
    broken = tmp_path / "adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{}")
    with pytest.raises(BackendError, match="base model"):
        HFBackend(str(broken))


def test_prompt_longer_than_the_model_reads_is_a_clear_error(backend):
    with pytest.raises(BackendError, match=r"reads at most \d+") as info:
        list(backend.stream(PROMPT * 400, max_new_tokens=10))
    assert "smaller part" in info.value.hint


def test_abandoned_stream_does_not_cancel_the_next_one(backend):
    """The TUI drops an old explanation and starts a new one: the new one runs to its end."""
    old = backend.stream(PROMPT, max_new_tokens=2000)
    next(old)
    old.close()
    assert "".join(backend.stream(PROMPT, max_new_tokens=24)) == backend.generate([PROMPT], max_new_tokens=24)[0]


def test_registry_loads_a_local_folder_through_the_hf_backend(tiny_dir):
    from models.registry import BackendSpec, load_backend

    b = load_backend(BackendSpec(model=str(tiny_dir), aliases={}))
    assert type(b).__name__ == "HFBackend" and b.name == f"{tiny_dir.name} (hf)"
    b.close()
    with pytest.raises(BackendError, match="closed"):
        b.generate(["x"])
