"""The rule update built for this CPU: the eager update's bits where it serves, torch's compiled
update where it does not, and one line where nothing builds."""

import os
import subprocess
import time

import pytest
import torch

from metaheb import native, rules, update_kernel
from metaheb.rules import RULES, Terms, fused_hebbian_step_, hebbian_step_, normalise_max_abs_


@pytest.fixture(scope="module")
def built():
    if not rules._built_update_works():
        pytest.skip("no C++ compiler here")


def eager_step(w, pre, post, terms, scale=None):
    w = w.clone()
    hebbian_step_(w, pre, post, terms, scale)
    normalise_max_abs_(w)
    return w


def layer(agents=4, out=9, inputs=27, seed=0):
    generator = torch.Generator().manual_seed(seed)
    w = torch.randn(agents, out, inputs, generator=generator)
    pre = torch.tanh(torch.randn(agents, inputs, generator=generator))
    post = torch.tanh(torch.randn(agents, out, generator=generator))
    terms = RULES["ABCD_lr"].fold(torch.randn(agents, 5, out, inputs, generator=generator))
    return w, pre, post, terms


def bits(tensor):
    return tensor.view(torch.int32)


@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 7), (3, 128, 28), (2, 64, 648)])
def test_the_built_step_gives_the_eager_bits_at_the_presets_shapes(built, shape):
    w, pre, post, terms = layer(*shape)
    fused = w.clone()
    update_kernel.built_hebbian_step_(fused, pre, post, terms, normalise=True)
    assert torch.equal(bits(fused), bits(eager_step(w, pre, post, terms)))


def test_a_layer_holding_a_nan_is_divided_by_one_and_a_zero_layer_left_alone(built):
    w, pre, post, terms = layer()
    w[1, 3, 5] = float("nan")
    w[2] = 0.0
    zero = Terms(*(t.clone() for t in terms))
    for factor in zero:
        factor[2] = 0.0
    fused = w.clone()
    fused_hebbian_step_(fused, pre, post, zero, normalise=True)
    expected = eager_step(w, pre, post, zero)
    assert torch.equal(bits(fused), bits(expected))
    assert fused[1].isnan().sum() == 1 and (fused[2] == 0).all()


def test_strided_factors_are_read_in_place(built):
    # Factors sliced out of a (P, k, out, in) block (agent stride k x out x in) are read as they
    # are, not copied.
    w, pre, post, _ = layer()
    block = torch.randn(4, 4, 9, 27)
    terms = Terms(*(block[:, k] for k in range(4)))
    assert not terms.hebbian.is_contiguous() and update_kernel.takes(w, terms, pre, post)
    fused = w.clone()
    fused_hebbian_step_(fused, pre, post, terms, normalise=True)
    assert torch.equal(bits(fused), bits(eager_step(w, pre, post, terms)))


def test_layers_the_kernel_does_not_take_go_to_torch_s_compiled_update(built):
    w, pre, post, terms = layer()
    assert not update_kernel.takes(w.double(), Terms(*(t.double() for t in terms)), pre, post)
    assert not update_kernel.takes(w.transpose(1, 2).contiguous().transpose(1, 2), terms, pre, post)
    assert not update_kernel.takes(w, terms, pre.double(), post)
    assert not update_kernel.takes(w[:2], terms, pre, post)  # factors of other agents
    w64, terms64 = w.double(), Terms(*(t.double() for t in terms))
    fused = w64.clone()
    fused_hebbian_step_(fused, pre.double(), post.double(), terms64, normalise=True)
    assert torch.equal(fused, eager_step(w64, pre.double(), post.double(), terms64))


def test_no_compiler_means_torch_s_compiled_update_and_one_line(monkeypatch, capsys):
    def no_compiler(*args, **kwargs):
        raise subprocess.CalledProcessError(1, ["c++"], stderr="c++: not found\nmore")

    monkeypatch.setattr(native, "build", no_compiler)
    update_kernel._kernel.cache_clear()
    rules._built_update_works.cache_clear()
    try:
        assert not rules._built_update_works()
        line = capsys.readouterr().err.strip()
        assert line.count("\n") == 0 and "c++: not found" in line
        assert "torch's compiled update" in line
        w, pre, post, terms = layer()
        fused = w.clone()
        fused_hebbian_step_(fused, pre, post, terms, normalise=True)
        assert torch.equal(bits(fused), bits(eager_step(w, pre, post, terms)))
    finally:
        monkeypatch.undo()
        update_kernel._kernel.cache_clear()
        rules._built_update_works.cache_clear()


def test_the_kernels_are_built_by_the_compiler_cxx_names(tmp_path, monkeypatch):
    compiler = tmp_path / "my-c++"
    compiler.write_text("#!/bin/sh\necho my-c++ was asked >&2\nexit 1\n")
    compiler.chmod(0o755)
    monkeypatch.setenv("CXX", str(compiler))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert native.cxx_compiler() == str(compiler)
    with pytest.raises(subprocess.CalledProcessError) as failed:
        native.build(update_kernel.SOURCE)
    assert native.build_error_line(failed.value) == "my-c++ was asked"
    assert not list((tmp_path / "cache" / "metaheb").iterdir())  # nothing half-written


def test_builds_of_older_sources_are_removed_once_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "metaheb"
    cache.mkdir()
    names = ("update_kernel-0.so", "update_kernel-1.so", "x-0.so")
    stale, recent, other = (cache / name for name in names)
    for path in (stale, recent, other):
        path.write_bytes(b"old build")
    month_ago = time.time() - 30 * 86400
    os.utime(stale, (month_ago, month_ago))
    os.utime(other, (month_ago, month_ago))
    try:
        built = native.build(update_kernel.SOURCE)
    except native.BUILD_ERRORS:
        pytest.skip("no C++ compiler here")
    assert sorted(p.name for p in cache.iterdir()) == sorted([built.name, recent.name, other.name])
