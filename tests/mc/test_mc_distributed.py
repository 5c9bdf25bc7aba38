"""`kerasdrop.mc.predict` sharded over devices equals one device (same seed).

TensorFlow: `MirroredStrategy` on the two logical CPUs of conftest, and
`MultiWorkerMirroredStrategy` with two worker processes on 127.0.0.1. JAX:
`keras.distribution.DataParallel` on two host devices, in a child process
(XLA_FLAGS must be set before JAX starts). Model, pool and runs:
`tests/mc/mc_distributed_child.py`; every run compares all fields of the
`MCResult` of a softmax classifier, samples included, with independent and
consistent masks, on a 37-row pool.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import kerasdrop
from kerasdrop.mc import devices
import mc_distributed_child as child
from helpers import to_numpy

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "mc" / "mc_distributed_child.py"


def assert_runs_equal(expected, actual):
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        if key.endswith("predicted_class"):
            np.testing.assert_array_equal(
                to_numpy(actual[key]), to_numpy(value), err_msg=key
            )
        else:  # the same masks; matrix products of other sizes may round apart
            np.testing.assert_allclose(
                to_numpy(actual[key]),
                to_numpy(value),
                rtol=1e-5,
                atol=1e-6,
                err_msg=key,
            )


def child_env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **extra)
    # The kerasdrop under test, not another installed copy.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def run_children(arguments, envs, directory, timeout):
    """Runs one child per env, all at once; kills every one still running on
    a failure or at `timeout` seconds. Returns nothing; raises with the
    children's logs when one fails."""
    processes, logs = [], []
    deadline = time.monotonic() + timeout
    try:
        for index, env in enumerate(envs):
            logs.append(directory / f"child{index}.log")
            with open(logs[-1], "w") as log:
                processes.append(
                    subprocess.Popen(
                        [sys.executable, str(CHILD), *arguments, str(directory)],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for process in processes:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pytest.fail(f"children still running after {timeout} s:\n{_tails(logs)}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    if any(process.returncode for process in processes):
        pytest.fail(f"a child failed:\n{_tails(logs)}")


def _tails(logs):
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_one_device_without_distribution():
    model = child.build()
    assert isinstance(devices.runner(model), devices.SingleDevice)
    assert devices.runner(model).shards == 1


@pytest.mark.tf_only
def test_mirrored_equals_one_device(mirrored_strategy):
    single = child.build()
    with mirrored_strategy.scope():
        sharded = child.build()
    sharded.set_weights(single.get_weights())
    assert devices.runner(sharded).shards == 2  # picked up from the model
    expected = child.run_all(single, child.pool())
    assert_runs_equal(expected, child.run_all(sharded, child.pool()))


@pytest.mark.tf_only
def test_strategy_it_cannot_shard_on_is_refused():
    import tensorflow as tf

    devices = [d.name for d in tf.config.list_logical_devices("CPU")][:2]
    strategy = tf.distribute.experimental.CentralStorageStrategy(devices)
    with strategy.scope():
        model = child.build()
    with pytest.raises(ValueError, match="CentralStorageStrategy of 2 replicas"):
        kerasdrop.mc.predict(model, child.pool(), samples=2)


@pytest.mark.tf_only
@pytest.mark.slow
def test_multi_worker_equals_one_device(tmp_path):
    single = child.build()
    weights = {f"w{i}": w for i, w in enumerate(single.get_weights())}
    np.savez(tmp_path / "weights.npz", **weights)
    np.save(tmp_path / "x.npy", child.pool())
    expected = child.run_all(single, child.pool())
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    envs = [
        child_env(
            KERAS_BACKEND="tensorflow",
            TF_CONFIG=json.dumps(
                {"cluster": cluster, "task": {"type": "worker", "index": index}}
            ),
        )
        for index in range(2)
    ]
    run_children(["worker"], envs, tmp_path, timeout=240)
    for index in range(2):  # every worker holds the whole result
        assert_runs_equal(expected, dict(np.load(tmp_path / f"worker{index}.npz")))


@pytest.mark.slow
@pytest.mark.one_backend  # the children run JAX whatever the parent runs
def test_jax_data_parallel_equals_one_device(tmp_path):
    pytest.importorskip("jax")
    env = child_env(
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
        JAX_PLATFORMS="cpu",
    )
    run_children(["jax"], [env], tmp_path, timeout=300)
    expected = dict(np.load(tmp_path / "single.npz"))
    assert_runs_equal(expected, dict(np.load(tmp_path / "sharded.npz")))


def test_keras_distribution_runner_pads_and_cuts():
    # The engine's arithmetic, on any backend: 2 devices, a batch of 7 rows.
    class Mesh:
        axis_names = ("batch",)
        shape = (2,)

    class Distribution:
        device_mesh = Mesh()
        batch_dim_name = "batch"

    engine = devices.DistributionRunner(Distribution())
    assert engine.shards == 2
    assert engine.padded(7) == 8 and engine.noise_rows(7) == (7, 1)
    assert engine.padded(8) == 8 and engine.noise_rows(8) is None
