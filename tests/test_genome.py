import torch

from metaheb.genome import GenomeLayout
from metaheb.networks import HebbianMLP


def test_ant_network_genome_size():
    layout = HebbianMLP((27, 128, 64, 8)).genome_layout
    assert layout.synapses == 27 * 128 + 128 * 64 + 64 * 8 == 12_160
    assert layout.size == 5 * 12_160 == 60_800


def test_decode_is_a_view_in_the_documented_order_and_encode_inverts_it():
    layout = GenomeLayout(((3, 2), (1, 3)))
    genomes = torch.arange(2 * layout.size, dtype=torch.float32).view(2, layout.size)
    layers = layout.decode(genomes)
    assert [tuple(layer.shape) for layer in layers] == [(2, 5, 3, 2), (2, 5, 1, 3)]
    assert layers[0].data_ptr() == genomes.data_ptr()  # a view, not a copy
    # Layer 1's A block comes first, row-major over (post, pre); its eta block ends the layer.
    assert torch.equal(layers[0][0, 0].flatten(), torch.arange(6.0))
    assert torch.equal(layers[0][0, 4].flatten(), torch.arange(24.0, 30.0))
    assert layers[1][0, 0, 0, 0] == 30.0
    assert torch.equal(layout.encode(layers), genomes)


def test_describe_names_every_layer_and_the_total():
    text = HebbianMLP((27, 128, 64, 8)).genome_layout.describe()
    assert "layer 1: [0:17280]" in text
    assert "total: 60800 values" in text
