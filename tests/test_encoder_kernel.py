"""CarRacing's encoder kernel built for this CPU gives oneDNN's convolutions' values, and the
rational tanh's, so nothing a run computes depends on whether a process has switched to it."""

import subprocess

import pytest
import torch
from conftest import assert_same_rollout

from metaheb import encoder_kernel, encoders
from metaheb.encoder_kernel import CompiledConvPool

CAR = ["task.name=carracing", "network.encoder=carracing_conv", "network.normalise=max_abs"]


@pytest.fixture(scope="module")
def built():
    conv = CompiledConvPool(switch_after=0)
    if not conv.ready(1, encoders.kernel_matches):
        pytest.skip("the encoder kernel does not build here (torch's convolutions serve)")
    return conv


def features(
    frames: torch.Tensor, kernels: list[torch.Tensor], conv, monkeypatch, tanh: str = "rational"
) -> torch.Tensor:
    monkeypatch.setattr(encoders, "COMPILED_CONV", conv)
    return encoders.conv_features("carracing_conv", frames, kernels, tanh)


@pytest.mark.parametrize("tanh", encoders.TANHS)
@pytest.mark.parametrize("agents", [1, 2, 8, 13])  # 13: blocks of 8 agents and a remainder
def test_the_kernel_gives_torch_s_features_at_any_batch(built, agents, tanh, monkeypatch):
    generator = torch.Generator().manual_seed(agents)
    # the frames' own layout (84, 84, P, 3), as tasks.carracing hands them over
    frames = torch.rand(84, 84, agents, 3, generator=generator).permute(2, 3, 0, 1)
    kernels = [
        torch.randn(agents, *shape, generator=generator) for shape in ((6, 3, 3, 3), (8, 6, 5, 5))
    ]
    plain = CompiledConvPool(switch_after=10**12)
    torch_path = features(frames, kernels, plain, monkeypatch, tanh)
    kernel_path = features(frames, kernels, built, monkeypatch, tanh)
    assert torch.equal(torch_path, kernel_path)
    alone = features(frames[:1], [k[:1] for k in kernels], built, monkeypatch, tanh)
    assert torch.equal(alone, kernel_path[:1])  # an agent's bits do not depend on its batch


def test_the_two_tanhs_give_nearly_the_same_features(built, monkeypatch):
    generator = torch.Generator().manual_seed(5)
    frames = torch.rand(84, 84, 3, 3, generator=generator).permute(2, 3, 0, 1)
    kernels = [torch.randn(3, 6, 3, 3, 3), torch.randn(3, 8, 6, 5, 5)]
    rational, library = (features(frames, kernels, built, monkeypatch, t) for t in encoders.TANHS)
    assert not torch.equal(rational, library)  # other bits: an agent file records its tanh
    assert torch.allclose(rational, library, rtol=0, atol=1e-5)


@pytest.mark.parametrize("rational", [False, True])
def test_the_pool_keeps_nan_as_torch_does(built, rational):
    x = torch.rand(1, 3, 84, 84).contiguous(memory_format=torch.channels_last)
    x[0, 1, 10, 10] = float("nan")
    kernel = torch.randn(1, 6, 3, 3, 3)
    expected = encoders.conv_pool(x, kernel, 1, rational=rational)
    got = encoders.conv_pool(x, kernel, 1, built.kernel, rational)
    assert torch.equal(expected.isnan(), got.isnan()) and got.isnan().any()
    assert torch.equal(expected.nan_to_num(), got.nan_to_num())


@pytest.mark.parametrize("rational", [False, True])
def test_black_regions_give_torch_s_zeros_bit_for_bit(built, rational):
    # Zeros of either sign meet in the pool: max_pool_2x2 keeps the first of equal values.
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(1, 9, 84, 84, generator=generator)
    x[:, :, 20:60, 10:70] = 0.0
    x[:, :, 30:40, 30:40] = -0.0
    x = x.contiguous(memory_format=torch.channels_last)
    for shape, stride in ((6, 3, 3, 3), 1), ((8, 6, 5, 5), 2):
        kernel = torch.randn(3, *shape, generator=generator)
        expected = encoders.conv_pool(x, kernel, stride, rational=rational)
        got = encoders.conv_pool(x, kernel, stride, built.kernel, rational)
        assert (expected == 0).any()
        assert torch.equal(expected.view(torch.int32), got.view(torch.int32))
        x = expected if rational else torch.tanh(expected)


def test_a_rollout_scores_the_same_bits_with_the_kernel(built, monkeypatch):
    plain = CompiledConvPool(switch_after=10**12)
    assert_same_rollout(monkeypatch, encoders, "COMPILED_CONV", plain, built)


def test_a_process_switches_only_after_many_frames():
    conv = CompiledConvPool(switch_after=100)
    assert not conv.ready(60, encoders.kernel_matches)
    assert conv.kernel is None  # nothing built for a short replay


def test_no_compiler_means_torch_s_path_and_one_line(monkeypatch, capsys):
    def no_compiler(*args, **kwargs):
        raise subprocess.CalledProcessError(1, ["c++"], stderr="c++: not found\nmore")

    monkeypatch.setattr(encoder_kernel, "build", no_compiler)
    conv = CompiledConvPool(switch_after=0)
    assert not conv.ready(1, encoders.kernel_matches)
    line = capsys.readouterr().err.strip()
    assert line.count("\n") == 0 and "c++: not found" in line and "torch's convolutions" in line


def test_the_built_library_is_cached_and_written_whole(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        first = encoder_kernel.build()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no C++ compiler here")
    assert first.parent == tmp_path / "metaheb" and first.stat().st_size > 0
    before = first.stat().st_mtime_ns
    assert encoder_kernel.build() == first and first.stat().st_mtime_ns == before
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no scratch left behind


def test_float64_frames_take_torch_s_path(built):
    x = torch.rand(1, 6, 84, 84, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    kernel = torch.randn(2, 6, 3, 3, 3, dtype=torch.float64)
    assert torch.equal(
        encoders.conv_pool(x, kernel, 1, built.kernel), encoders.conv_pool(x, kernel, 1)
    )


@pytest.mark.parametrize("rational", [False, True])
def test_an_input_in_the_default_layout_gives_the_channels_last_values(built, rational):
    # Channels first (no agent's channels side by side): the kernel gathers each pixel itself
    # and computes the same chains; torch's channels-last path is the reference (its default
    # layout's grouped kernel rounds differently, see metaheb/encoders.py).
    generator = torch.Generator().manual_seed(7)
    for shape, stride, size in (((6, 3, 3, 3), 1, 84), ((8, 6, 5, 5), 2, 41)):
        x = torch.rand(1, 3 * shape[1], size, size, generator=generator)
        kernel = torch.randn(3, *shape, generator=generator)
        last = x.contiguous(memory_format=torch.channels_last)
        expected = encoders.conv_pool(last, kernel, stride, rational=rational)
        assert torch.equal(expected, encoders.conv_pool(x, kernel, stride, built.kernel, rational))


def test_an_edit_of_a_kernel_header_builds_anew(tmp_path):
    from metaheb import native

    for path in encoder_kernel.SOURCE.parent.glob("encoder_*.[ch]*"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    source = tmp_path / encoder_kernel.SOURCE.name
    before = native.with_local_headers(source)
    headers = sorted(tmp_path.glob("*.h"))
    assert len(headers) == 3 and all(h.read_bytes() in before for h in headers)
    with (tmp_path / "encoder_lanes.h").open("a") as header:
        header.write("// an edit\n")
    assert native.with_local_headers(source) != before


@pytest.mark.parametrize("size", [13, 15, 41])  # 13: fewer pooled columns than a block by pixels
def test_the_second_layer_gives_torch_s_values_at_any_width(built, size):
    generator = torch.Generator().manual_seed(size)
    x = torch.rand(1, 2 * 6, size, size, generator=generator)
    x = x.contiguous(memory_format=torch.channels_last)
    kernel = torch.randn(2, 8, 6, 5, 5, generator=generator)
    for rational in (False, True):
        expected = encoders.conv_pool(x, kernel, 2, rational=rational)
        assert torch.equal(expected, encoders.conv_pool(x, kernel, 2, built.kernel, rational))
