"""cluster/: the launcher YAML passes Ray's own schema; the KubeRay manifests are well formed;
the image installs with the README's install script."""

import json
import re
from pathlib import Path

import jsonschema
import ray
import yaml

CLUSTER = Path(__file__).resolve().parents[1] / "cluster"


def test_ray_cluster_yaml_passes_rays_schema():
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["docker"]["image"] == "metaheb:latest"
    assert config["head_node_type"] in config["available_node_types"]


def test_kuberay_manifests_are_ray_io_v1_and_run_the_metaheb_image():
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    job = yaml.safe_load((CLUSTER / "kuberay" / "rayjob.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert job["spec"]["entrypoint"].startswith("metaheb train ")
    for spec in (cluster["spec"], job["spec"]["rayClusterSpec"]):
        assert spec["rayVersion"] == ray.__version__
        groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
        images = {c["image"] for g in groups for c in g["template"]["spec"]["containers"]}
        assert images == {"metaheb:latest"}


def test_dockerfile_installs_with_the_readmes_script():
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    assert re.search(r"^RUN bash scripts/install\.sh", dockerfile, flags=re.MULTILINE)
    quickstart = (CLUSTER.parent / "scripts" / "quickstart.sh").read_text()
    assert "scripts/install.sh" in quickstart
