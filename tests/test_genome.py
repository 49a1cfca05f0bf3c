import torch

from metaheb.genome import GenomeLayout, Segment
from metaheb.networks import PolicyNetwork
from metaheb.rules import RULES

ANT = (27, 128, 64, 8)


def test_ant_network_genome_sizes():
    assert PolicyNetwork(ANT).genome_layout.size == 5 * 12_160 == 60_800
    assert PolicyNetwork(ANT, model="static").genome_layout.size == 12_160
    assert PolicyNetwork(ANT, init="coevolved").genome_layout.size == 6 * 12_160
    for name, rule in RULES.items():
        assert PolicyNetwork(ANT, rule=name).genome_layout.size == rule.size * 12_160


def test_decode_is_a_view_in_the_documented_order_and_encode_inverts_it():
    layout = PolicyNetwork((2, 3, 1), init="coevolved").genome_layout
    assert [(s.kind, s.layer) for s in layout.segments] == [
        ("rule", 0),
        ("rule", 1),
        ("init", 0),
        ("init", 1),
    ]
    genomes = torch.arange(2 * layout.size, dtype=torch.float32).view(2, layout.size)
    decoded = layout.decode(genomes)
    assert [tuple(t.shape) for t in decoded["rule"]] == [(2, 5, 3, 2), (2, 5, 1, 3)]
    assert [tuple(t.shape) for t in decoded["init"]] == [(2, 3, 2), (2, 1, 3)]
    assert decoded["rule"][0].data_ptr() == genomes.data_ptr()  # a view, not a copy
    # Layer 1's A block comes first, row-major over (post, pre); its eta block ends the layer.
    assert torch.equal(decoded["rule"][0][0, 0].flatten(), torch.arange(6.0))
    assert torch.equal(decoded["rule"][0][0, 4].flatten(), torch.arange(24.0, 30.0))
    assert decoded["rule"][1][0, 0, 0, 0] == 30.0
    assert decoded["init"][0][0, 0, 0] == 45.0
    assert torch.equal(layout.encode(decoded), genomes)


def test_describe_names_every_segment_and_the_total():
    text = PolicyNetwork(ANT).genome_layout.describe()
    assert "[0:17280]  layer 1 rule 5x128x27  (A,B,C,D,eta per synapse)" in text
    assert "total: 60,800 values" in text
    layout = GenomeLayout((Segment("weights", 0, (2, 2)),))
    assert "layer 1 weights 2x2" in layout.describe()
