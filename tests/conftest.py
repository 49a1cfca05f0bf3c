import logging

import pytest
import ray


@pytest.fixture(scope="session")
def local_ray():
    """One embedded two-CPU Ray for the whole session (starting one costs about 3 s)."""
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()
