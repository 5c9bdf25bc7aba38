"""Which layers of a model are dropout, and how to rewrite them.

The one package that knows a model's structure; `convert`, `strip_dropout`,
`export`, `mc`, the callbacks and `inspect` all ask it:

- `sites`: `find(model)` lists every dropout-bearing layer (`Site`) at any
  depth, and names what kerasdrop cannot reach;
- `registry`: one entry per dropout kind (`register_dropout`);
- `rewriting`: `rewrite(model, mapping)` swaps layers in place;
- `owners`: layers whose config rebuilds their own sublayers;
- `copying`: `copy_model(model)`, the copy convert and strip rewrite;
- `saving` and `loading`: the `.keras` entry of a converted owner
  (`ConvertedOwner`), written and read back;
- `prefix`: `split_deterministic_prefix(model)` for MC prefix reuse;
- `conversion`: `convert(model)`, stock Keras dropout to kerasdrop and back;
- `skipping`: `skip_compute(model)`, residual blocks `x + drop_path(f(x))`
  rewritten into `SkipResidual` layers that skip a dropped branch.

>>> import keras, kerasdrop
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dropout(0.2)])
>>> [(site.path, site.status) for site in kerasdrop.graph.find(model)]
[('dropout', 'convertible')]
"""

from kerasdrop.graph.conversion import convert
from kerasdrop.graph.copying import copy_model, rebuild
from kerasdrop.graph.owners import config_bypass, original_config, owned
from kerasdrop.graph.prefix import (
    call_inputs,
    node_outputs,
    producer,
    split_deterministic_prefix,
)
from kerasdrop.graph.registry import (
    kind_of,
    kinds,
    register_dropout,
    unregister_dropout,
)
from kerasdrop.graph.rewriting import reset_compiled, rewrite, rewrite_count
from kerasdrop.graph.loading import ConvertedOwner
from kerasdrop.graph.skipping import Unfit, skip_compute
from kerasdrop.graph.sites import (
    Site,
    all_layers,
    check_selector,
    describe,
    dropout_layers,
    find,
    holds_kerasdrop,
    is_dropout_layer,
    layer_sites,
    matches,
    unreached,
    warn_unreached,
)

__all__ = [
    "ConvertedOwner",
    "Site",
    "Unfit",
    "all_layers",
    "call_inputs",
    "check_selector",
    "config_bypass",
    "convert",
    "copy_model",
    "describe",
    "dropout_layers",
    "find",
    "holds_kerasdrop",
    "is_dropout_layer",
    "kind_of",
    "kinds",
    "layer_sites",
    "matches",
    "node_outputs",
    "original_config",
    "owned",
    "producer",
    "rebuild",
    "register_dropout",
    "reset_compiled",
    "rewrite",
    "rewrite_count",
    "skip_compute",
    "split_deterministic_prefix",
    "unreached",
    "unregister_dropout",
    "warn_unreached",
]
