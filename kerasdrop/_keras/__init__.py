"""The one door to Keras' and keras-hub's private parts.

Every use of a private Keras or keras-hub name (imports from `keras.src` or
`keras_hub.src`, attributes with a leading underscore that Keras defines,
per-instance overrides of Keras methods) lives in this package, behind a
named function whose docstring says what it relies on. The rest of
kerasdrop reaches them as `_keras.<name>`, from here.
`tests/test_private_access.py` fails on any such access elsewhere in the
package, and `tests/test_keras_door.py` checks every accessor against the
installed Keras and keras-hub, so an upgrade that moves one fails loudly
instead of silently.

One module per part of Keras reached:

- `classes`: classes kept in private modules (`loaded_class`, `convnext`);
- `models`: graph models, their layers and attribute tracking;
- `nodes`: the nodes of a Functional graph;
- `layers`: layers, metrics and callbacks;
- `functions`: a model's compiled train/test/predict functions;
- `recurrent`: the cells and step loops of Keras' RNNs;
- `saving`: the entries Keras writes when saving.
"""

from kerasdrop._keras.classes import (  # noqa: F401
    loaded_class,
    convnext,
)
from kerasdrop._keras.models import (  # noqa: F401
    functional_class,
    is_functional,
    sequential_graph,
    flatten_layers,
    tracked_sublayers,
    attention_dropout,
    named_attributes,
    register_torch_parameters,
    untracked_attributes,
    unlocked_tracker,
    swap_tracked_id,
    retrack_torch_params,
    list_storage,
    note_list_swap,
)
from kerasdrop._keras.nodes import (  # noqa: F401
    nodes_by_depth,
    inbound_nodes,
    outbound_nodes,
    set_nodes,
    history,
    set_history,
    rename_node_keys,
    inputs_struct,
    outputs_struct,
    node_call_arguments,
    is_add_operation,
)
from kerasdrop._keras.layers import (  # noqa: F401
    build_at_init,
    metric_direction,
    backup_metadata_path,
    backup_hooks_available,
    BackupWithSaveHook,
)
from kerasdrop._keras.functions import (  # noqa: F401
    override_function_maker,
    build_function,
    fresh_train_function,
)
from kerasdrop._keras.recurrent import (  # noqa: F401
    adopt_cell,
    StepLoopSwitch,
)
from kerasdrop._keras.saving import (  # noqa: F401
    on_serialized,
)
