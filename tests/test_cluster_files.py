"""cluster/: the launcher YAML passes Ray's own schema; the KubeRay manifests use only fields of
the ray.io/v1 resources and their pod templates pass Kubernetes' own strict schema (offline);
the image installs with the README's install script."""

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import ray
import yaml

CLUSTER = Path(__file__).resolve().parents[1] / "cluster"


def test_ray_cluster_yaml_passes_rays_schema():
    schema = json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())
    config = yaml.safe_load((CLUSTER / "ray-cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["docker"]["image"] == "metaheb:latest"
    assert config["head_node_type"] in config["available_node_types"]


# The fields of the ray.io/v1 custom resources (RayCluster, RayJob) that a manifest may set.
RAY_CLUSTER_SPEC = {
    "autoscalerOptions", "enableInTreeAutoscaling", "gcsFaultToleranceOptions", "headGroupSpec",
    "headServiceAnnotations", "managedBy", "rayVersion", "suspend", "workerGroupSpecs",
}  # fmt: skip
HEAD_GROUP = {"enableIngress", "headService", "rayStartParams", "serviceType", "template"}
WORKER_GROUP = {
    "groupName", "idleTimeoutSeconds", "maxReplicas", "minReplicas", "numOfHosts",
    "rayStartParams", "replicas", "scaleStrategy", "suspend", "template",
}  # fmt: skip
RAY_JOB_SPEC = {
    "activeDeadlineSeconds", "backoffLimit", "clusterSelector", "deletionStrategy", "entrypoint",
    "entrypointNumCpus", "entrypointNumGpus", "entrypointResources", "jobId", "managedBy",
    "metadata", "rayClusterSpec", "runtimeEnvYAML", "shutdownAfterJobFinishes", "submissionMode",
    "submitterConfig", "submitterPodTemplate", "suspend", "ttlSecondsAfterFinished",
}  # fmt: skip


def check_cluster_spec(spec: dict) -> None:
    assert set(spec) <= RAY_CLUSTER_SPEC, set(spec) - RAY_CLUSTER_SPEC
    assert set(spec["headGroupSpec"]) <= HEAD_GROUP
    assert spec["rayVersion"] == ray.__version__
    for group in spec["workerGroupSpecs"]:
        assert set(group) <= WORKER_GROUP, set(group) - WORKER_GROUP
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    for group in [spec["headGroupSpec"], *spec["workerGroupSpecs"]]:
        assert all(isinstance(v, str) for v in group["rayStartParams"].values())
        # A pod template is Kubernetes' own PodTemplateSpec: strict schema, unknown keys fail.
        pod_template = {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "check"},
            "template": group["template"],
        }
        kubernetes_validate.validate(pod_template, "1.30", strict=True)
        containers = group["template"]["spec"]["containers"]
        assert {c["image"] for c in containers} == {"metaheb:latest"}


def test_kuberay_manifests_use_ray_io_v1_fields_and_valid_pod_templates():
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    job = yaml.safe_load((CLUSTER / "kuberay" / "rayjob.yaml").read_text())
    assert (cluster["apiVersion"], cluster["kind"]) == ("ray.io/v1", "RayCluster")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert set(job["spec"]) <= RAY_JOB_SPEC, set(job["spec"]) - RAY_JOB_SPEC
    assert job["spec"]["entrypoint"].startswith("metaheb train ")
    check_cluster_spec(cluster["spec"])
    check_cluster_spec(job["spec"]["rayClusterSpec"])


def test_a_misspelt_pod_field_fails_the_kubernetes_schema():
    cluster = yaml.safe_load((CLUSTER / "kuberay" / "raycluster.yaml").read_text())
    container = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    container["resource"] = container.pop("resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        check_cluster_spec(cluster["spec"])


def test_dockerfile_installs_with_the_readmes_script():
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    assert re.search(r"^RUN bash scripts/install\.sh", dockerfile, flags=re.MULTILINE)
    quickstart = (CLUSTER.parent / "scripts" / "quickstart.sh").read_text()
    assert "scripts/install.sh" in quickstart
