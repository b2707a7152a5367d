"""Sentence embeddings with any Hugging Face encoder, fast and without side effects.

:class:`TextEmbedder` turns texts into one vector each:

* **model**: a ``transformers`` model object, a name or a local path; ``None`` is the
  bundled ``all-MiniLM-L6-v2`` (no download). Models with a task head are fine: their
  base model (``model.base_model``) is run. Encoder-decoder models run their encoder.
* **pooling**: ``"mean"`` over real tokens, ``"cls"`` (first token), ``"max"``, or
  ``"auto"``: the model's own sentence-transformers pooling (``modules.json`` +
  ``1_Pooling/config.json``) when it ships one, else ``"mean"``.
* **normalize**: L2-normalize the vectors; ``None`` follows the model's
  sentence-transformers ``Normalize`` module when it has one, else ``False``.
* **max_length**: tokens per text after truncation; ``None`` follows
  ``sentence_bert_config.json`` (``max_seq_length``) when present, else the tokenizer's
  and the model's limit.
* **precision**: ``"float32"`` (exact), ``"bfloat16"`` or ``"float16"`` (autocast: the
  weights are not converted; matrix products run in half precision, reductions in
  float32). ``"auto"`` is ``"float16"`` on CUDA and ``"float32"`` elsewhere. On a CPU
  with AMX/AVX-512 BF16, ``"bfloat16"`` is the fast mode (cosine >= 0.999 to exact).

Speed: texts are tokenized once, sorted by token length (longest first) and cut into
batches of ``batch_size`` texts of near-equal length, each padded only to its own
longest text (dynamic padding), run under ``torch.inference_mode``; the output is put
back in input order. Padding therefore costs almost nothing, and the result of a text
does not depend on its neighbours beyond float rounding.

No side effects: the model is put in ``eval()`` mode and, if needed, moved to the
chosen device for the call only; every module's ``training`` flag and the parameters'
device are restored afterwards, and the fast tokenizer's truncation/padding settings
(which ``transformers`` changes on every call) are restored too.

The default model is loaded once per process (:func:`load_encoder` caches by path).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import sys
import types
from typing import Any, Iterator, Sequence

import numpy as np

from dprune.core.base import format_positions
from dprune.models import DEFAULT_MODEL, model_identity, resolve_model_name
from dprune.core.params import BOOL, NONE, Interval, Options, Predicate, check_param

__all__ = [
    "EMBEDDING_CONSTRAINTS",
    "POOLING_OPTIONS",
    "PRECISIONS",
    "TextEmbedder",
    "check_texts",
    "embed_texts",
    "load_encoder",
]

#: Accepted ``pooling`` values.
POOLING_OPTIONS = ("auto", "mean", "cls", "max")
#: Accepted ``precision`` values.
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
#: Present on a machine with an NVIDIA driver (where CUDA may be available).
_NVIDIA_DRIVER = "/proc/driver/nvidia/version"
#: Texts tokenized and sorted together; bounds memory for very long inputs.
_WINDOW_TEXTS = 32768

_MODEL_LIKE = Predicate(
    lambda v: v is None or isinstance(v, (str, os.PathLike)) or _looks_like_model(v),
    "None (the bundled default model), a model name or path (str), or a transformers model object",
)
_TOKENIZER_LIKE = Predicate(
    lambda v: v is None or isinstance(v, (str, os.PathLike)) or callable(v),
    "None (the model's own tokenizer), a tokenizer name or path (str), or a tokenizer object",
)
_DEVICE_LIKE = Predicate(
    lambda v: v is None or isinstance(v, str) or type(v).__name__ == "device",
    "None (automatic), a device string such as 'cpu' or 'cuda:0', or a torch.device",
)

#: Constraints shared by every component that embeds text (scorers reuse them).
EMBEDDING_CONSTRAINTS = {
    "model": [_MODEL_LIKE],
    "tokenizer": [_TOKENIZER_LIKE],
    "pooling": [Options(POOLING_OPTIONS)],
    "max_length": [NONE, Interval(int, 1, None)],
    "normalize": [NONE, BOOL],
    "batch_size": [Interval(int, 1, None)],
    "device": [_DEVICE_LIKE],
    "precision": [Options(PRECISIONS)],
    "progress": [NONE, BOOL],
}


def _looks_like_model(value: Any) -> bool:
    return callable(getattr(value, "parameters", None)) and callable(getattr(value, "forward", None))


#: Model config fields that settle the embedding settings.
_CONFIG_FIELDS = ("max_position_embeddings", "hidden_size", "d_model", "is_encoder_decoder")

# --------------------------------------------------------------------------- loading
@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path)
    model.eval()
    return model, tokenizer


def load_encoder(name_or_path: str | os.PathLike | None = None) -> tuple[Any, Any]:
    """Load (model, tokenizer) once per process; ``None`` is the bundled default model.

    The returned objects are shared by every caller in the process: do not modify them
    (``TextEmbedder`` never does).
    """
    path = resolve_model_name(DEFAULT_MODEL if name_or_path is None else name_or_path)
    return _load_cached(path)


def _object_identity(obj: Any) -> str:
    """sha256 of a model's weights (names, dtypes, shapes, bytes) and config."""
    import torch

    digest = hashlib.sha256(type(obj).__name__.encode())
    config = getattr(obj, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        cfg = {k: v for k, v in config.to_dict().items() if not k.startswith("_") and k != "transformers_version"}
        digest.update(json.dumps(cfg, sort_keys=True, default=str).encode())
    for name, tensor in sorted(obj.state_dict().items()):
        t = tensor.detach()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def _tokenizer_identity(tokenizer: Any) -> str:
    digest = hashlib.sha256(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and hasattr(backend, "to_str"):
        state = json.loads(backend.to_str())
        state.pop("truncation", None)  # call-time settings, not identity
        state.pop("padding", None)
        digest.update(json.dumps(state, sort_keys=True).encode())
    else:
        digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    for attr in ("do_lower_case", "padding_side", "truncation_side"):
        digest.update(f"{attr}={getattr(tokenizer, attr, None)!r}".encode())
    return "sha256:" + digest.hexdigest()


def _sentence_transformers_files(source: str | None) -> dict[str, Any]:
    """``modules.json``, pooling config and ``sentence_bert_config.json`` of a model, if any."""
    if not source:
        return {}

    def locate(name: str) -> str | None:
        if os.path.isdir(source):
            path = os.path.join(source, *name.split("/"))
            return path if os.path.isfile(path) else None
        try:  # a hub name: the file from the local cache (or the hub when online), if the repo has it
            from transformers.utils import cached_file

            return cached_file(source, name, _raise_exceptions_for_missing_entries=False,
                               _raise_exceptions_for_connection_errors=False)
        except (OSError, ValueError, TypeError):  # offline, gated, not a repo: no sentence-transformers files
            return None

    def read(name: str) -> Any:
        path = locate(name)
        if not path or not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    out: dict[str, Any] = {}
    modules = read("modules.json")
    if isinstance(modules, list):
        out["modules"] = modules
        for module in modules:
            kind = str(module.get("type", ""))
            if kind.endswith("Pooling"):
                folder = module.get("path", "")
                out["pooling"] = read(f"{folder}/config.json" if folder else "config.json")
            elif kind.endswith("Normalize"):
                out["normalize"] = True
    sbert = read("sentence_bert_config.json")
    if isinstance(sbert, dict):
        out["sbert"] = sbert
    return out


def _read_json(folder: str, name: str) -> dict[str, Any]:
    """A JSON object file of a model folder, or ``{}`` when it is absent."""
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return data if isinstance(data, dict) else {}


def _pooling_from_config(config: dict, source: str) -> str:
    modes = [
        name
        for key, name in (
            ("pooling_mode_mean_tokens", "mean"),
            ("pooling_mode_cls_token", "cls"),
            ("pooling_mode_max_tokens", "max"),
        )
        if config.get(key)
    ]
    others = [k for k, v in config.items() if k.startswith("pooling_mode_") and v and not k.endswith(
        ("mean_tokens", "cls_token", "max_tokens"))]
    if len(modes) != 1 or others:
        raise ValueError(
            f"The sentence-transformers pooling config of {source} uses {modes + others}; "
            "TextEmbedder supports exactly one of mean, cls or max. Pass pooling='mean', 'cls' or 'max'."
        )
    return modes[0]


# --------------------------------------------------------------------------- input checks
def check_texts(texts: Sequence[Any], *, offset: int = 0, column: str | None = None) -> None:
    """Raise a ``ValueError`` naming the row positions of ``None`` texts, ``TypeError`` for non-strings."""
    missing = [offset + i for i, t in enumerate(texts) if t is None]
    where = f"column {column!r}" if column else "the input"
    if missing:
        raise ValueError(
            f"{where} has None (missing) text at row position(s) {format_positions(missing)}. "
            "Embeddings need a string per row: drop those rows (dataset.filter(lambda r: r[col] is not None)) "
            "or fill them (an empty string is embedded like any other text)."
        )
    wrong = [offset + i for i, t in enumerate(texts) if not isinstance(t, str)]
    if wrong:
        first = texts[wrong[0] - offset]
        raise TypeError(
            f"{where} must hold strings; row position(s) {format_positions(wrong)} hold "
            f"{type(first).__name__} (e.g. {first!r}). Convert the column to text first."
        )



# --------------------------------------------------------------------------- embedder
class TextEmbedder:
    """Embed texts with a Hugging Face encoder (see the module docstring for every option).

    Parameters
    ----------
    model : None, str, os.PathLike or transformers model
        ``None`` is the bundled all-MiniLM-L6-v2.
    tokenizer : None, str or tokenizer
        ``None`` loads the tokenizer that belongs to ``model``.
    pooling : {"auto", "mean", "cls", "max"}
    max_length : int, optional
    normalize : bool, optional
    batch_size : int
        Texts per forward pass (after length sorting).
    device : None, str or torch.device
        ``None``: the model's own device if it is not the CPU, else CUDA, else MPS, else CPU.
    precision : {"auto", "float32", "bfloat16", "float16"}
    progress : bool, optional
        Show a tqdm bar; ``None`` shows it only on an interactive terminal for > 10 batches.
    """

    def __init__(
        self,
        model: Any = None,
        tokenizer: Any = None,
        *,
        pooling: str = "auto",
        max_length: int | None = None,
        normalize: bool | None = None,
        batch_size: int = 64,
        device: Any = None,
        precision: str = "auto",
        progress: bool | None = None,
        owner: str | None = None,
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.max_length = max_length
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.precision = precision
        self.progress = progress
        self._owner = owner or type(self).__name__
        self._resolved: dict[str, Any] | None = None
        self._described: dict[str, Any] | None = None
        params = {"model": model, "tokenizer": tokenizer, "pooling": pooling, "max_length": max_length,
                  "normalize": normalize, "batch_size": batch_size, "device": device, "precision": precision,
                  "progress": progress}
        for name, value in params.items():
            check_param(self._owner, name, value, EMBEDDING_CONSTRAINTS[name])

    # ------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_resolved"] = state["_described"] = None  # reloaded lazily (the default model comes from the process cache)
        return state

    # ------------------------------------------------------------ resolution
    def _model_folder(self) -> str | None:
        """The local folder of a model given by path or name (``None`` when it is an object or a hub name)."""
        if self.model is not None and not isinstance(self.model, (str, os.PathLike)):
            return None
        source = resolve_model_name(DEFAULT_MODEL if self.model is None else os.fspath(self.model))
        return source if os.path.isdir(source) else None

    def _describe(self) -> dict[str, Any]:
        """Source, identity handles and the settings that determine the vectors.

        For a model in a local folder they come from its config files, without loading
        the weights: checking whether a cached artifact exists stays cheap.
        """
        if self._described is not None:
            return self._described
        folder = self._model_folder()
        if folder is None:
            return self._resolve()
        tokenizer = self.tokenizer
        if tokenizer is None:
            tokenizer_id: Any = "model"
            tokenizer_max = _read_json(folder, "tokenizer_config.json").get("model_max_length")
        elif isinstance(tokenizer, (str, os.PathLike)):
            tokenizer_path = resolve_model_name(os.fspath(tokenizer))
            tokenizer_id = ("path", tokenizer_path)
            tokenizer_max = (_read_json(tokenizer_path, "tokenizer_config.json").get("model_max_length")
                             if os.path.isdir(tokenizer_path) else _load_tokenizer_cached(tokenizer_path).model_max_length)
        else:
            tokenizer_id, tokenizer_max = None, getattr(tokenizer, "model_max_length", None)
        config = _read_json(folder, "config.json")
        self._described = {
            "source": folder, "model_id": ("path", folder), "tokenizer_id": tokenizer_id,
            **self._settings_from(folder, config, tokenizer_max, self._planned_device()),
        }
        return self._described

    def _planned_device(self) -> Any:
        """The device the vectors will be computed on, importing torch only where a GPU may be present.

        Describing a model (and so computing a cache key) must stay cheap: with no device
        given, torch not imported yet and no NVIDIA driver on the machine, the answer is
        the CPU. :meth:`_resolve` picks the real ``torch.device`` when the model loads.
        """
        if self.device is None and "torch" not in sys.modules and not os.path.exists(_NVIDIA_DRIVER):
            return types.SimpleNamespace(type="cpu")
        import torch

        return self._choose_device(None, torch)

    def _settings_from(self, source: str | None, config: dict[str, Any], tokenizer_max: Any, device: Any) -> dict:
        """Pooling, normalization, max_length, device and precision from the model's files and config."""
        st = _sentence_transformers_files(source)
        pooling = self.pooling
        if pooling == "auto":
            pooling = _pooling_from_config(st["pooling"], source) if isinstance(st.get("pooling"), dict) else "mean"
        normalize = self.normalize if self.normalize is not None else bool(st.get("normalize", False))
        pos_max = config.get("max_position_embeddings")
        max_length = self.max_length
        if max_length is None:
            candidates = []
            sbert_max = (st.get("sbert") or {}).get("max_seq_length")
            if isinstance(sbert_max, int) and sbert_max > 0:
                candidates.append(sbert_max)
            else:
                if isinstance(tokenizer_max, int) and 0 < tokenizer_max < 100_000:
                    candidates.append(tokenizer_max)
                if isinstance(pos_max, int) and pos_max > 0:
                    candidates.append(pos_max)
            max_length = min(candidates) if candidates else 512
        if isinstance(pos_max, int) and 0 < pos_max < max_length:
            raise ValueError(
                f"The 'max_length' parameter of {self._owner} is {max_length} but the model has only {pos_max} "
                f"positions (config.max_position_embeddings). Use max_length <= {pos_max}."
            )
        precision = self.precision
        if precision == "auto":
            precision = "float16" if device.type == "cuda" else "float32"
        return {"pooling": pooling, "normalize": normalize, "max_length": int(max_length), "device": device,
                "precision": precision, "dim": config.get("hidden_size") or config.get("d_model"),
                "encoder_decoder": bool(config.get("is_encoder_decoder", False))}

    def _resolve(self) -> dict[str, Any]:
        if self._resolved is not None:
            return self._resolved
        import torch

        model, tokenizer = self.model, self.tokenizer
        source: str | None = None
        if model is None or isinstance(model, (str, os.PathLike)):
            source = resolve_model_name(DEFAULT_MODEL if model is None else os.fspath(model))
            model, default_tokenizer = load_encoder(source)
            model_id = ("path", source)
        else:
            default_tokenizer = None
            config = getattr(model, "config", None)
            name = getattr(model, "name_or_path", None) or getattr(config, "_name_or_path", None)
            source = resolve_model_name(name) if isinstance(name, str) and name else None
            model_id = None  # hashed from the weights, only when a cache key needs it
        # Identities are computed lazily (hashing weights takes a moment): None or ("path", folder).
        tokenizer_id: Any = "model" if tokenizer is None and default_tokenizer is not None else None
        if tokenizer is None:
            if default_tokenizer is None:
                if not source:
                    raise ValueError(
                        f"{self._owner} got a model object without a tokenizer, and the model does not say "
                        "where it was loaded from. Pass tokenizer=<the model's tokenizer>."
                    )
                default_tokenizer = _load_tokenizer_cached(source)
                tokenizer_id = ("path", source)
            tokenizer = default_tokenizer
        elif isinstance(tokenizer, (str, os.PathLike)):
            tokenizer_path = resolve_model_name(os.fspath(tokenizer))
            tokenizer = _load_tokenizer_cached(tokenizer_path)
            tokenizer_id = ("path", tokenizer_path)

        if self._model_folder() is not None:
            described = {**self._describe(), "device": self._choose_device(model, torch)}
        else:
            config = getattr(model, "config", None)
            config_values = {name: getattr(config, name, None) for name in _CONFIG_FIELDS}
            described = {
                "source": source, "model_id": model_id, "tokenizer_id": tokenizer_id,
                **self._settings_from(source, config_values, getattr(tokenizer, "model_max_length", None),
                                      self._choose_device(model, torch)),
            }
        if described["encoder_decoder"] and hasattr(model, "get_encoder"):
            encoder = model.get_encoder()  # T5, BART ...: the encoder stack alone
        else:
            encoder = getattr(model, "base_model", model)  # a model with a task head: its base model
        self._resolved = {**described, "model": model, "encoder": encoder, "tokenizer": tokenizer}
        self._described = self._resolved
        return self._resolved

    def _choose_device(self, model: Any, torch: Any) -> Any:
        if self.device is not None:
            device = torch.device(self.device)
            if device.type == "cuda" and device.index is None:
                device = torch.device("cuda", torch.cuda.current_device())
            return device
        param = None if model is None else next(iter(model.parameters()), None)
        if param is not None and param.device.type != "cpu":
            return param.device
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")

    def settings(self) -> dict[str, Any]:
        """The resolved settings that determine the vectors (pooling, normalize, max_length, precision)."""
        r = self._describe()
        return {"pooling": r["pooling"], "normalize": r["normalize"], "max_length": r["max_length"],
                "precision": r["precision"]}

    def identity(self) -> dict[str, str]:
        """Identity of the model and tokenizer for cache keys (a hash of their weights/vocabulary)."""
        r = self._describe()
        # None marks an object the user passed: hashed from its weights / vocabulary.
        for key, obj, hash_object in (("model_id", self.model, _object_identity),
                                      ("tokenizer_id", self.tokenizer, _tokenizer_identity)):
            value = r[key]
            if value is None:
                r[key] = hash_object(obj)
            elif isinstance(value, tuple):
                r[key] = model_identity(value[1])
        return {"model": r["model_id"], "tokenizer": r["tokenizer_id"]}

    @property
    def dimension(self) -> int:
        """Size of one embedding vector."""
        r = self._resolve()
        if r["dim"] is None:
            r["dim"] = int(self.embed([""]).shape[1])
        return int(r["dim"])

    # ------------------------------------------------------------ embedding
    def embed(self, texts: Sequence[str], *, offset: int = 0) -> np.ndarray:
        """Return a ``(len(texts), dim)`` float32 array, row ``i`` the vector of ``texts[i]``.

        ``offset`` is added to row positions named in error messages (when ``texts`` is a
        slice of a bigger dataset).
        """
        texts = list(texts)
        check_texts(texts, offset=offset)
        r = self._resolve()
        if not texts:
            return np.zeros((0, int(r["dim"] or 0)), dtype=np.float32)
        out: np.ndarray | None = None
        with self._session() as run_batch:
            for start in range(0, len(texts), _WINDOW_TEXTS):
                window = texts[start: start + _WINDOW_TEXTS]
                ids = self._tokenize(window)
                lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
                order = np.argsort(-lengths, kind="stable")
                for batch_rows in self._progress(_chunks(order, self.batch_size), len(order)):
                    vectors = run_batch([ids[i] for i in batch_rows], lengths[batch_rows])
                    if out is None:
                        out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
                        r["dim"] = vectors.shape[1]
                    out[start + batch_rows] = vectors
        assert out is not None
        return out

    __call__ = embed

    def _tokenize(self, texts: list[str]) -> list[list[int]]:
        r = self._resolve()
        tokenizer = r["tokenizer"]
        backend = getattr(tokenizer, "backend_tokenizer", None)
        saved = (backend.truncation, backend.padding) if backend is not None else None
        try:
            encoded = tokenizer(
                texts, add_special_tokens=True, truncation=True, max_length=r["max_length"], padding=False,
                return_attention_mask=False, return_token_type_ids=False, verbose=False,
            )
        finally:
            if saved is not None:
                _restore_backend(backend, *saved)
        return encoded["input_ids"]

    def _progress(self, batches: Iterator[np.ndarray], n: int) -> Iterator[np.ndarray]:
        total = math.ceil(n / self.batch_size)
        show = self.progress
        if show is False or (show is None and total <= 10):
            return batches
        from tqdm.auto import tqdm

        return tqdm(batches, total=total, desc="Embedding", unit="batch", disable=None if show is None else False)

    @contextlib.contextmanager
    def _session(self):
        """Prepare the model (eval mode, device) for the call and restore it afterwards."""
        import torch

        r = self._resolve()
        model, encoder, device = r["model"], r["encoder"], r["device"]
        modes = [(m, m.training) for m in model.modules()]
        devices = {p.device for p in model.parameters()} | {b.device for b in model.buffers()}
        moved_from = None
        if devices and devices != {device} and not getattr(model, "hf_device_map", None):
            if len(devices) != 1:
                raise ValueError(
                    f"{self._owner}: the model's parameters are spread over {sorted(map(str, devices))}; "
                    f"pass device=... matching them or move the model to one device first."
                )
            moved_from = next(iter(devices))
        pad_id = getattr(r["tokenizer"], "pad_token_id", None)
        pad_id = 0 if pad_id is None else int(pad_id)
        pooling, normalize = r["pooling"], r["normalize"]
        precision = r["precision"]
        autocast = (
            torch.autocast(device_type=device.type, dtype=getattr(torch, precision))
            if precision != "float32" else contextlib.nullcontext()
        )

        def run_batch(ids: list[list[int]], lengths: np.ndarray) -> np.ndarray:
            width = int(lengths.max())
            input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(ids), width), dtype=np.int64)
            for row, (tokens, n) in enumerate(zip(ids, lengths)):
                input_ids[row, :n] = tokens
                mask[row, :n] = 1
            input_t = torch.from_numpy(input_ids).to(device, non_blocking=True)
            mask_t = torch.from_numpy(mask).to(device, non_blocking=True)
            with autocast:
                hidden = encoder(input_ids=input_t, attention_mask=mask_t).last_hidden_state
            hidden = hidden.float()
            if pooling == "cls":
                pooled = hidden[:, 0]
            elif pooling == "max":
                pooled = hidden.masked_fill(mask_t.unsqueeze(-1) == 0, -1e9).max(dim=1).values
            else:
                m = mask_t.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            if normalize:
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            return pooled.cpu().numpy()

        try:
            model.eval()
            if moved_from is not None:
                model.to(device)
            with torch.inference_mode():
                yield run_batch
        finally:
            if moved_from is not None:
                model.to(moved_from)
            for module, mode in modes:
                module.training = mode


@functools.lru_cache(maxsize=4)
def _load_tokenizer_cached(path: str) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _restore_backend(backend: Any, truncation: dict | None, padding: dict | None) -> None:
    """Put a ``tokenizers.Tokenizer``'s truncation and padding settings back as they were."""
    if truncation is None:
        backend.no_truncation()
    else:
        backend.enable_truncation(**truncation)
    if padding is None:
        backend.no_padding()
    else:
        backend.enable_padding(**padding)


def _chunks(order: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(order), size):
        yield order[start: start + size]


def embed_texts(texts: Sequence[str], model: Any = None, tokenizer: Any = None, **options: Any) -> np.ndarray:
    """Embed ``texts`` (see :class:`TextEmbedder` for ``options``); returns ``(n, dim)`` float32."""
    return TextEmbedder(model, tokenizer, **options).embed(texts)
