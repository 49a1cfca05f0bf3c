"""The CarRacing network: parameter counts of the paper, and real CarRacing-v3 frames through it."""

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from metaheb.encoders import TANHS, conv_features, max_pool_2x2
from metaheb.networks import PolicyNetwork
from metaheb.rational_tanh import rational_tanh

CAR = PolicyNetwork(
    (648, 128, 64, 3), output_activation="linear", encoder="carracing_conv", normalise="max_abs"
)


def frames_from(observations: np.ndarray) -> torch.Tensor:
    """96x96x3 uint8 frames -> 84x84, [0, 1], channels first (area interpolation)."""
    x = torch.from_numpy(observations).permute(0, 3, 1, 2).float() / 255.0
    return F.interpolate(x, size=(84, 84), mode="area")


def test_parameter_counts_match_the_paper():
    layout = CAR.genome_layout
    conv = sum(s.size for s in layout.segments if s.kind == "conv")
    rules = sum(s.size for s in layout.segments if s.kind == "rule")
    assert conv == 1_362
    assert rules == 5 * 91_328 == 456_640
    static = PolicyNetwork(CAR.sizes, "linear", model="static", encoder="carracing_conv")
    assert static.genome_layout.size == 91_328 + 1_362
    assert "[456802:458002]  conv 2 convolution kernel 8x6x5x5" in layout.describe()


def own_features(
    frames: torch.Tensor, kernels: list[torch.Tensor], k: int, tanh: str = "torch"
) -> torch.Tensor:
    """Agent k alone, as the paper's network computes it: conv, tanh, max pool, twice; with the
    rational tanh, conv, max pool, tanh (its definition: it is monotone only to a few ulp)."""
    x = frames[k : k + 1]
    for kernel, stride in zip(kernels, (1, 2)):
        x = F.conv2d(x, kernel[k], stride=stride)
        x = F.max_pool2d(torch.tanh(x), 2) if tanh == "torch" else rational_tanh(F.max_pool2d(x, 2))
    return x.flatten()


@pytest.mark.parametrize("tanh", TANHS)
def test_each_agent_gets_the_bits_of_its_own_convolution_in_any_batch(tanh):
    # A replay of one agent must see what its training batch saw, whatever the batch size.
    genomes = torch.randn(8, CAR.genome_layout.size)
    weights, _ = CAR.start_episode(genomes, list(range(8)))
    frames = torch.rand(8, 3, 84, 84)
    own = [own_features(frames, weights[3:], k, tanh) for k in range(8)]
    for batch in (1, 2, 3, 5, 8):
        kernels = [kernel[:batch] for kernel in weights[3:]]
        channels_first = conv_features("carracing_conv", frames[:batch], kernels, tanh)
        # the layout tasks.carracing hands over: (84, 84, batch, 3) memory
        pixels_last = frames[:batch].permute(2, 3, 0, 1).contiguous().permute(2, 3, 0, 1)
        assert torch.equal(
            conv_features("carracing_conv", pixels_last, kernels, tanh), channels_first
        )
        for k in range(batch):
            assert torch.equal(channels_first[k], own[k]), (batch, k)


def test_pooling_before_tanh_gives_the_bits_of_tanh_then_max_pool():
    # Agents evolved before the encoder pooled first must see the same features.
    genomes = 3 * torch.randn(4, CAR.genome_layout.size)
    weights, _ = CAR.start_episode(genomes, [0, 1, 2, 3])
    frames = torch.rand(4, 3, 84, 84)
    frames[1, 0, 10, 10] = float("nan")  # a NaN stays a NaN wherever it goes
    features = conv_features("carracing_conv", frames, weights[3:], "torch")
    for k in range(4):
        torch.testing.assert_close(
            features[k], own_features(frames, weights[3:], k), rtol=0, atol=0, equal_nan=True
        )
    assert features[1].isnan().any() and not features[0].isnan().any()
    odd = torch.randn(2, 5, 19, 21)
    assert torch.equal(max_pool_2x2(odd), F.max_pool2d(odd, 2))


def test_plastic_network_drives_real_carracing_frames():
    env = gym.make("CarRacing-v3")
    obs, _ = env.reset(seed=0)
    genomes = torch.randn(1, CAR.genome_layout.size, generator=torch.Generator().manual_seed(0))
    weights, terms = CAR.start_episode(genomes, [0])
    first = weights[0].clone()
    for _ in range(10):
        activations = CAR.forward(weights, frames_from(obs[None]))
        assert activations[0].shape == (1, 648)
        raw = activations[-1][0]
        action = torch.cat([torch.tanh(raw[:1]), torch.sigmoid(raw[1:])]).numpy()
        obs, _, terminated, truncated, _ = env.step(action)
        assert not (terminated or truncated)
        CAR.plasticity_step(weights, activations, terms)
    assert not torch.equal(weights[0], first)
    for layer in weights[:3]:
        assert torch.allclose(layer.abs().amax(), torch.tensor(1.0))
    env.close()
