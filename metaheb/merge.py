"""Evolve and merge: per-synapse Hebbian rules clustered into shared ones during evolution.

Pedersen & Risi (2021), "Evolving and merging Hebbian learning rules: increasing generalization
by decreasing the number of rules". Evolution starts with a rule per synapse; at scheduled
generations the search centre's rule vectors (one ``(A, B, C, D, eta)`` per synapse) are
clustered by K-means (Lloyd 1982; k-means++ seeding, Arthur & Vassilvitskii 2007) into K rules,
every synapse keeps the rule of its cluster, and evolution goes on over the K cluster centres.
Each later merge clusters the per-synapse vectors again (each synapse carrying its current
shared rule), so the number of rules falls stage by stage to the final one.

Across layers, not per layer: a rule is a point in the same coefficient space whichever layer
its synapse sits in, one K states the genome's size as the paper does (61,440 values to 1,920:
12,288 synapses to 384 rules), and a layer whose synapses want one rule is not forced to hold
several. The clustering is seeded (the run's seed) and single-threaded, so a merge gives the
same rules on every machine and after a resume. Each centre is recomputed as the float64 mean
of its members: a cluster of identical rules gets that rule exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Merged:
    """A merge's outcome: every synapse's rule index and the rules, the means of their members."""

    assignment: np.ndarray  # (S,) int64, synapses counted across layers, row-major per layer
    rules: np.ndarray  # (K, k) float32


def merge_rules(vectors: np.ndarray, n_rules: int, seed: int) -> Merged:
    """Cluster ``(S, k)`` per-synapse rule vectors into ``n_rules`` shared rules by K-means."""
    from sklearn.cluster import KMeans  # heavy; only a merging run needs it
    from threadpoolctl import threadpool_limits

    points = np.asarray(vectors, dtype=np.float64)
    distinct = len(np.unique(points, axis=0))
    clusters = min(n_rules, distinct)  # K-means cannot split identical points apart
    with threadpool_limits(limits=1):  # one thread: the same clusters on any machine
        kmeans = KMeans(n_clusters=clusters, n_init=1, random_state=seed, algorithm="lloyd")
        labels = kmeans.fit_predict(points)
    labels = _dense(labels)
    rules = member_means(points, labels)
    return Merged(assignment=labels.astype(np.int64), rules=rules.astype(np.float32))


def member_means(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``(K, k)``: the float64 mean of the points of each label 0..K-1."""
    sums = np.zeros((labels.max() + 1, points.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, points)
    return sums / np.bincount(labels)[:, None]


def _dense(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..K-1 in order of first appearance (a cluster left empty dropped)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]
