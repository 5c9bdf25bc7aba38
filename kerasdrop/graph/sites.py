"""Finding: where a model's dropout is, at any depth.

`find(model)` walks a model (Functional graph nodes, nested models,
sublayers held as attributes or in lists/dicts of any layer or subclassed
model: keras-hub blocks, `MultiHeadAttention`'s dropout, RNN layers' dropout
arguments) and returns one `Site` per dropout-bearing layer; `unreached`,
`describe` and `warn_unreached` name what kerasdrop cannot drive; selectors
(`matches`, `check_selector`) pick sites by name, path or class.
"""

import ast
import dataclasses
import inspect
import re
import textwrap
import warnings
import weakref

import keras

from kerasdrop import _checks, _keras
from kerasdrop.graph import owners, registry
from kerasdrop.layers import base as base_lib
from kerasdrop.layers import recurrent as recurrent_lib

#: Config keys that declare dropout computed inside a layer's own `call`.
_DROPOUT_KEYS = ("dropout", "attention_dropout", "dropout_rate", "drop_rate")

#: Functions of a `random` module (`keras.random`, `tf.random`, `jax.random`,
#: `np.random`...) that draw random numbers.
_DRAWS = frozenset(
    "dropout uniform normal truncated_normal bernoulli binomial categorical "
    "randint gamma beta shuffle rand randn".split()
)
#: Packages whose layers are never scanned for draws: Keras' own (its noise
#: layers are registry kinds; its augmentation layers are no dropout) and
#: kerasdrop's; nor are their functions followed from a user's `call`.
_LIBRARIES = ("keras", "kerasdrop", "tensorflow", "jax", "numpy", "torch")
#: keras-hub classes whose call draws random numbers that are no dropout
#: (reviewed; keras-hub's drop-path classes are registry kinds instead).
_NOT_DROPOUT = frozenset(
    {
        # Text preprocessing: masking and augmentation of the inputs.
        "keras_hub.src.layers.preprocessing.masked_lm_mask_generator:"
        "MaskedLMMaskGenerator",
        "keras_hub.src.layers.preprocessing.random_deletion:RandomDeletion",
        # Denoising queries of D-FINE's training, a VAE's latent sampling,
        # Mixtral's router jitter (0 by default).
        "keras_hub.src.models.d_fine.d_fine_layers:"
        "DFineContrastiveDenoisingGroupGenerator",
        "keras_hub.src.models.vae.vae_layers:DiagonalGaussianDistributionSampler",
        "keras_hub.src.models.mixtral.mixtral_decoder:MixtralSparseMoeBlock",
    }
)


@dataclasses.dataclass
class Site:
    """One dropout-bearing layer of a model.

    Attributes:
        path: from the model down, joined by "/": a layer's name where a
            graph (Functional, Sequential) holds it, else the attribute
            holding it (`_dropout_layer`, `blocks[1]`), which stays the
            same when the holder is rebuilt from its config.
        layer: the layer.
        holders: `(holder, chain)` pairs: the layers holding it directly and
            the layers from the model down to each holder.
        status: "kerasdrop" (schedulable, MC-capable), "convertible" (a
            known class `kerasdrop.convert` replaces) or "unreachable".
        rate: the rate as text.
        reason: why an unreachable site cannot be reached, else "".
    """

    path: str
    layer: keras.layers.Layer
    holders: list
    status: str
    rate: str
    reason: str = ""

    @property
    def kind(self):
        prefix = "" if isinstance(self.layer, base_lib.DropoutBase) else "keras."
        module = type(self.layer).__module__.split(".")[0]
        if module not in ("keras", "kerasdrop"):
            prefix = module + "."
        return prefix + type(self.layer).__name__


# ----------------------------------------------------------------------------
# Finding.
# ----------------------------------------------------------------------------
def _children(layer):
    """Sublayers tracked by `layer` (graph layers, attributes, containers)."""
    if recurrent_lib.is_variational(layer):
        return layer.dropout_layers  # not the cell
    if getattr(layer, "holds_sites", False):
        return [layer.wrapped]  # SkipResidual: its branch may hold dropout
    if isinstance(layer, (base_lib.DropoutBase, keras.layers.RNN)):
        return []  # a Concrete wrapper's inner layer; an RNN's cell (one site)
    skip = {id(layer)}
    if isinstance(layer, keras.layers.MultiHeadAttention):
        rate, dropout = _keras.attention_dropout(layer)
        if not rate:
            # With dropout=0 its call never runs that dropout layer (and
            # takes the fused attention path): it is no dropout to reach.
            skip.add(id(dropout))
    return [c for c in _keras.tracked_sublayers(layer) if id(c) not in skip]


def _rnn_site(layer):
    cell = getattr(layer, "cell", None)
    rates = {
        name: float(getattr(cell, name, 0) or 0)
        for name in ("dropout", "recurrent_dropout")
    }
    if not any(rates.values()):
        return None
    text = ", ".join(f"{k}={v:g}" for k, v in rates.items())
    reason = (
        f"layer '{layer.name}' ({type(layer).__name__}) has {text}; kerasdrop "
        "cannot change or sample it (it converts the dropout of Keras' LSTM, "
        "GRU and SimpleRNN layers only)"
    )
    return "unreachable", text, reason


def _declared_dropout(layer):
    """Positive dropout rates in `layer`'s config (dropout inside its call)."""
    with owners.config_bypass():
        try:
            config = layer.get_config()
        except Exception:  # a layer without a usable config
            return {}
    return {
        key: value
        for key, value in config.items()
        if key in _DROPOUT_KEYS and _checks.is_real(value) and value > 0
    }


def _classify(layer):
    """(status, rate text, reason) for a dropout-bearing layer, else None."""
    if isinstance(layer, base_lib.DropoutBase):
        return "kerasdrop", f"{layer.rate:.4g}", ""
    kind = registry.kind_of(layer)
    if kind is not None and kind.holds_dropout(layer):
        rate = kind.rate_text(layer)
        if kind.to_kerasdrop is None:
            return "unreachable", rate, kind.why_not
        return "convertible", rate, ""
    if isinstance(layer, keras.layers.RNN):
        return _rnn_site(layer)
    return None


def _step(holder, child):
    """The path element of `child` under `holder`: its name in a graph, else
    the attribute holding it (stable when the holder is rebuilt from config,
    where auto-generated names change)."""
    graph = _keras.is_functional(holder) or isinstance(holder, keras.Sequential)
    if graph and child in holder.layers:
        return child.name
    for attr, value in _keras.named_attributes(holder):
        if value is child:
            return attr
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if item is child:
                    return f"{attr}[{i}]"
        if isinstance(value, dict):
            for key, item in value.items():
                if item is child:
                    return f"{attr}[{key!r}]"
    return child.name


def _walk(model):
    """Yields `(layer, holder, chain, path)` for every sublayer of `model`,
    depth first in the holders' layer order (a shared layer is yielded once
    per holder and walked into once)."""
    seen = set()

    def visit(holder, chain, prefix):
        chain = chain + [holder]
        for child in _children(holder):
            step = _step(holder, child)
            path = f"{prefix}/{step}" if prefix else step
            yield child, holder, chain, path
            if id(child) not in seen:
                seen.add(id(child))
                yield from visit(child, chain, path)

    yield from visit(model, [], "")


def find(model):
    """Every dropout-bearing layer of `model`, in depth-first order.

    Besides the layers of known dropout classes (kerasdrop's, Keras', the
    registry's) it lists Keras' `LSTM`/`GRU`/`SimpleRNN` with a positive
    `dropout`/`recurrent_dropout` (convertible), other RNN layers with
    dropout, layers whose config declares a positive dropout that no
    dropout sublayer carries (dropout computed inside their own `call`),
    and layers whose `call` draws random numbers (`draws`: read from the
    class's source, never run): all unreachable. A kerasdrop RNN layer's
    sites are its dropout sublayers (`lstm/input_dropout`, `lstm/state_dropout`).

    Returns:
        A list of `Site`.

    Example:

    >>> import keras, kerasdrop
    >>> x = keras.Input((3, 8))
    >>> h = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)(x, x)
    >>> h = keras.layers.LSTM(4, dropout=0.2, name="lstm")(h)
    >>> model = keras.Model(x, keras.layers.Dropout(0.3, name="head")(h))
    >>> [(s.path, s.status) for s in kerasdrop.graph.find(model)]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('multi_head_attention/_dropout_layer', 'convertible'),
     ('lstm', 'convertible'), ('head', 'convertible')]
    """
    sites = {}
    carriers = set()  # ids of layers holding a dropout sublayer somewhere
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites:
            sites[id(layer)].holders.append((holder, chain))
            continue
        found = _classify(layer)
        if found is None:
            continue
        sites[id(layer)] = Site(path, layer, [(holder, chain)], *found)
        carriers.update(id(x) for x in chain)
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites or isinstance(layer, keras.layers.RNN):
            continue
        if registry.kind_of(layer) is None:
            found = _in_call(layer, id(layer) in carriers)
            if found:
                sites[id(layer)] = Site(
                    path, layer, [(holder, chain)], "unreachable", *found
                )
    return list(sites.values())


# ----------------------------------------------------------------------------
# Dropout inside a layer's own call: declared in its config, or drawn.
# ----------------------------------------------------------------------------
_DRAWING = weakref.WeakKeyDictionary()  # class -> the draws its call makes


def _module(obj):
    module = getattr(obj, "__module__", None)
    return module if isinstance(module, str) else ""


def _root(obj):
    return _module(obj).split(".")[0]


def _dotted(node):
    """`"a.b.c"` for a chain of names and attributes, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts[::-1])


def _calls(function, methods):
    """`(draws, functions it calls)` from the source of `function`: draws are
    the dotted names of the random functions it calls (`keras.random.dropout`,
    or a bare name imported from a `random` module); the functions followed
    are `self.<method>` of `methods` and module functions outside the
    libraries. Reads the source only: nothing is run."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):  # no source (exec, a C function)
        return [], []
    scope = getattr(function, "__globals__", {})
    draws, follow = [], []
    for node in ast.walk(tree):
        name = _dotted(node.func) if isinstance(node, ast.Call) else None
        if name is None:
            continue
        parts = name.split(".")
        root = scope.get(parts[0])  # a module (`kr.dropout`), a function
        origin = root.__name__ if inspect.ismodule(root) else _module(root)
        target = root if len(parts) == 1 else None
        if parts[-1] in _DRAWS and "random" in origin.split(".") + parts[:-1]:
            draws.append(name)
        elif name.endswith("nn.dropout"):  # tf.nn.dropout
            draws.append(name)
        elif parts[0] == "self" and len(parts) == 2 and parts[1] in methods:
            follow.append(methods[parts[1]])
        elif inspect.isfunction(target) and _root(target) not in _LIBRARIES:
            follow.append(target)
    return draws, follow


def draws(cls):
    """The random functions a layer class's `call` draws from, as written in
    its source (`("keras.random.dropout",)`), following the methods and
    module functions it calls; `()` for Keras' and kerasdrop's classes and
    where no source is found. Static and cached per class: the source is
    read, never run.

    Example:

    >>> import keras, kerasdrop
    >>> kerasdrop.graph.sites.draws(keras.layers.Dense)
    ()
    """
    try:
        return _DRAWING[cls]
    except KeyError:
        pass
    reviewed = f"{cls.__module__}:{cls.__qualname__}" in _NOT_DROPOUT
    methods = {}
    for klass in reversed(cls.__mro__):  # the last definition wins
        if _root(klass) not in _LIBRARIES:
            methods.update(
                (k, v) for k, v in vars(klass).items() if inspect.isfunction(v)
            )
    found, seen = [], set()
    todo = [methods["call"]] if "call" in methods and not reviewed else []
    while todo and len(seen) < 64:
        function = todo.pop()
        if function not in seen:
            seen.add(function)
            new, follow = _calls(function, methods)
            found += [n for i, n in enumerate(new) if n not in found + new[:i]]
            todo += follow
    _DRAWING[cls] = tuple(found)
    return _DRAWING[cls]


def _in_call(layer, carrier):
    """`(rate text, reason)` for dropout `layer` computes in its own call
    (declared in its config, unless a dropout sublayer may carry it; or
    drawn from a random function), else None."""
    declared = {} if carrier else _declared_dropout(layer)
    if declared:
        text = ", ".join(f"{k}={v:g}" for k, v in declared.items())
        return text, (
            f"layer '{layer.name}' ({type(layer).__name__}) computes its "
            f"dropout ({text}) inside its own call, with no dropout "
            "sublayer to replace"
        )
    drawn = draws(type(layer))
    if drawn:
        return "unknown", (
            f"layer '{layer.name}' ({type(layer).__name__}): its call draws "
            f"random numbers ({', '.join(drawn)}) without declaring a dropout "
            "rate kerasdrop can read; register its class with "
            "`kerasdrop.register_dropout`"
        )
    return None


def layer_sites(model, predicate):
    """A `Site` (path, holders) for every layer of `model`, at any depth,
    for which `predicate(layer)` is true, in depth-first order; `status`
    and `rate` are empty. For rewriting layers that carry dropout sites
    (kerasdrop's RNN layers) as a whole.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((3, 2)),
    ...     kerasdrop.layers.GRU(4, dropout=0.1, name="gru")])
    >>> [s.path for s in kerasdrop.graph.layer_sites(
    ...     model, kerasdrop.layers.recurrent.is_variational)]
    ['gru']
    """
    sites = {}
    for layer, holder, chain, path in _walk(model):
        if id(layer) in sites:
            sites[id(layer)].holders.append((holder, chain))
        elif predicate(layer):
            sites[id(layer)] = Site(path, layer, [(holder, chain)], "", "")
    return list(sites.values())


def dropout_layers(model):
    """Every kerasdrop dropout layer of `model`, at any depth.

    Example:

    >>> import keras, kerasdrop
    >>> model = keras.Sequential([keras.Input((4,)),
    ...     kerasdrop.layers.Dropout(0.1, name="a"), keras.layers.Dense(2)])
    >>> [layer.name for layer in kerasdrop.graph.dropout_layers(model)]
    ['a']
    """
    return [site.layer for site in find(model) if site.status == "kerasdrop"]


def is_dropout_layer(layer):
    """True for kerasdrop dropout layers and layers of a registered dropout
    class (Keras' dropout and noise layers, drop-path layers, yours; not
    RNN layers, which merely take dropout arguments)."""
    if isinstance(layer, base_lib.DropoutBase):
        return True
    kind = registry.kind_of(layer)
    return kind is not None and not kind.carrier


def holds_kerasdrop(layer):
    """True when `layer` is, or holds at any depth, a kerasdrop dropout layer
    (cheap: no config is read)."""
    if isinstance(layer, base_lib.DropoutBase):
        return True
    return any(isinstance(child, base_lib.DropoutBase) for child, *_ in _walk(layer))


def matches(selector, layer, path=None):
    """True when a selector item (a name or regular expression, matched
    in full against the layer name or its path, or a layer class) picks
    `layer`."""
    if isinstance(selector, type):
        return isinstance(layer, selector)
    names = [layer.name] + ([path] if path else [])
    return any(
        selector == name or re.fullmatch(selector, name) is not None for name in names
    )


def check_selector(name, selector):
    """The selector as a list; raises a Keras-style error for a bad one."""
    items = selector if isinstance(selector, (list, tuple)) else [selector]
    for item in items:
        if isinstance(item, type):
            continue
        if not isinstance(item, str):
            raise _checks.invalid_type(
                name,
                "Expected a layer name, a regular expression, a layer class, or "
                "a list of them.",
                f"{name}={selector!r}",
            )
        try:
            re.compile(item)
        except re.error as e:
            raise _checks.invalid_value(
                name,
                f"{item!r} is not a valid regular expression ({e}).",
                f"{name}={selector!r}",
            ) from None
    return list(items)


def unreached(model, sites=None):
    """Sites of `model` (or of `sites`) that kerasdrop does not drive: not
    kerasdrop layers, leaving out stock layers at rate 0 (they never drop)."""
    sites = find(model) if sites is None else sites
    return [
        site for site in sites if site.status != "kerasdrop" and not _inert(site.layer)
    ]


def _inert(layer):
    kind = registry.kind_of(layer)
    try:
        return kind is not None and kind.read_rate(layer) == 0.0
    except (AttributeError, TypeError, ValueError):
        return False


def describe(site):
    """One line naming a site and why kerasdrop does not drive it."""
    if site.status == "convertible":
        return (
            f"'{site.path}' ({site.kind}, rate {site.rate}): stock, convert it "
            "with `kerasdrop.convert(model)`"
        )
    return f"'{site.path}' ({site.kind}): {site.reason}"


_WARNED = weakref.WeakKeyDictionary()


def warn_unreached(model, who, sites=None, stacklevel=3):
    """Warns once per model and caller, listing the dropout `who` cannot reach."""
    sites = unreached(model) if sites is None else sites
    if not sites:
        return
    key = (who, tuple(site.path for site in sites))
    try:
        done = _WARNED.setdefault(model, set())
    except TypeError:  # not weak-referenceable
        done = set()
    if key in done:
        return
    done.add(key)
    lines = "\n  ".join(describe(site) for site in sites)
    warnings.warn(
        f"{who} does not reach {len(sites)} dropout-bearing layer(s) of "
        f"model '{model.name}':\n  {lines}",
        stacklevel=stacklevel,
    )


def all_layers(model):
    """`model`'s layers at every depth (Keras' tracked sublayers)."""
    return _keras.flatten_layers(model, include_self=False)
