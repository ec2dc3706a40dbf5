"""Saving and loading parameters as .npz, without pickle."""

from pathlib import Path

import numpy as np
import pytest

import netlib as nl


def make_model(hidden=5, seed=0):
    rng = np.random.default_rng(seed)
    return nl.Sequential([nl.Dense(3, hidden, rng=rng), nl.Tanh(), nl.Dense(hidden, 2, rng=rng)])


def test_round_trip_restores_every_parameter(tmp_path):
    source, target = make_model(seed=0), make_model(seed=1)
    path = tmp_path / "model.npz"
    nl.save_parameters(source, path)
    nl.load_parameters(target, path)
    x = np.random.default_rng(2).standard_normal((4, 3))
    np.testing.assert_array_equal(source.forward(x), target.forward(x))


def test_file_holds_no_pickle(tmp_path):
    path = tmp_path / "model.npz"
    nl.save_parameters(make_model(), path)
    with np.load(path, allow_pickle=False) as data:   # would raise on object arrays
        assert {"0.W", "0.b", "2.W", "2.b"} <= set(data.files)
        assert all(data[key].dtype != object for key in data.files)


def test_mismatched_architecture_is_refused_and_model_unchanged(tmp_path):
    path = tmp_path / "model.npz"
    nl.save_parameters(make_model(hidden=5), path)
    other = make_model(hidden=6, seed=3)
    before = {k: v.copy() for k, v in other.parameters().items()}
    with pytest.raises(ValueError, match=r"'0\.W' has shape \(3, 5\) in the file.*\(3, 6\)"):
        nl.load_parameters(other, path)
    for key, value in other.parameters().items():
        np.testing.assert_array_equal(value, before[key])


def test_missing_layer_is_named(tmp_path):
    path = tmp_path / "model.npz"
    nl.save_parameters(make_model(), path)
    bigger = nl.Sequential([*make_model().layers, nl.Tanh(), nl.Dense(2, 2)])
    with pytest.raises(ValueError, match=r"missing from the file \['4\.W', '4\.b'\]"):
        nl.load_parameters(bigger, path)


def test_the_suffix_is_added_alike_on_save_and_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source, target = make_model(seed=0), make_model(seed=1)
    assert nl.save_parameters(source, "model") == Path("model.npz")     # as np.savez names it
    nl.load_parameters(target, "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    for key, value in source.parameters().items():
        np.testing.assert_array_equal(target.parameters()[key], value)


def test_an_interrupted_save_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    nl.save_parameters(make_model(seed=0), path)
    before = path.read_bytes()

    def fail_midway(stream, **arrays):
        stream.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", fail_midway)
    with pytest.raises(KeyboardInterrupt):
        nl.save_parameters(make_model(seed=1), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_model_and_path_swapped_is_named(tmp_path):
    with pytest.raises(TypeError, match=r"model first and the path second.*save_parameters\("):
        nl.save_parameters(tmp_path / "m.npz", make_model())
