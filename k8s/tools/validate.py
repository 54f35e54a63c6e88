"""Offline validation of rendered convhub manifests (k8s/check.sh runs it on each render).

Two layers, both without a cluster or a network:

1. Schema: every object is validated against the Kubernetes OpenAPI-derived JSON schemas that
   the kubernetes-validate package ships (the "-local-strict" set: unknown fields are errors,
   like `kubeconform -strict`), for each Kubernetes version in --kube-versions. Those cover the
   built-in kinds only. The custom resources convhub ships are listed in CRD_SCHEMAS, each with a
   strict schema written here (a subset of its operator's CRD: fields convhub does not use are
   errors too); any other kind without a schema is an error.
2. Policy: what docs/operations.md promises of the manifests, checked on the rendered objects:
   per service a Deployment, Service, ServiceAccount, HPA, PDB and migration Job, all with one
   name; native gRPC probes; resources; the restricted pod security context (CronJobs' pods
   too); ingest's webhook port; attribution's ingest address, credentials and exports volume;
   each CronJob's guards against piling up (Forbid, a starting deadline, a backoff limit, an
   active deadline), and the base's CronJobs by name, command and schedule; egress left open;
   every Secret/ConfigMap/PersistentVolumeClaim reference resolving; the dashboard's and the
   alerts' queries naming metrics the code exports (read from the OpenTelemetry instruments in
   libs/ and services/); every alert's runbook a section of docs/operations.md; every service
   under services/ deployed, with the entry points the root Dockerfile needs; and the overlay's
   own rules (--profile).

Usage: validate.py --profile {base,dev,prod} [--kube-versions 1.30,1.37] RENDERED.yaml
Exit status 1 and one line per problem when anything fails.
"""

from __future__ import annotations

import argparse
import ast
import functools
import importlib.resources
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

SERVICES = (
    "ingest",
    "router",
    "dispatch-google",
    "dispatch-meta",
    "dispatch-tiktok",
    "attribution",
)
WITH_CREDENTIALS = {
    "ingest",
    "router",
    "dispatch-google",
    "dispatch-meta",
    "dispatch-tiktok",
    "attribution",  # the spend sync reads the ad platforms' reporting APIs
}
GRPC_PORT = 50051
WEBHOOK_PORT = 8080  # ingest's webhook receiver (HTTP)
# CronJobs of the base: name -> (the service whose image it runs, how its command starts, its
# schedule). attribution's scheduled jobs: `convhub attribution jobs run <job>` (README).
ATTRIBUTION_JOBS = {
    "rollup": "5 * * * *",
    "spend-sync": "30 3 * * *",
    "recalculate": "0 4 * * *",
    "retry-unattributed": "20 * * * *",
    "reconcile": "0 5 * * *",
    "export": "*/15 * * * *",
}
CRONJOBS = {
    "hubspot-sync": ("ingest", ["convhub", "sources", "sync", "hubspot"], "17 * * * *"),
    **{
        f"attribution-{job}": (
            "attribution",
            ["convhub", "attribution", "jobs", "run", job],
            schedule,
        )
        for job, schedule in ATTRIBUTION_JOBS.items()
    },
}
# Secrets production (and the bare base) leave to the cluster: created outside git.
EXTERNAL_SECRETS = {"convhub-db", "convhub-jwt"} | {f"{s}-credentials" for s in WITH_CREDENTIALS}
# PersistentVolumeClaims likewise (prod renders no state): attribution's export files.
EXTERNAL_CLAIMS = {"attribution-exports"}
# Metric names the dashboard must chart (Prometheus names of the OTel instruments).
DASHBOARD_METRICS = (
    "events_routed_sgtm_total",
    "events_routed_direct_total",
    "route_mode_mismatch_total",
    "dedupe_total",
    "dedupe_rate",
    "ingest_conversions_total",
    "dedupe_check_seconds_bucket",
    "convhub_dispatch_events_total",
    "convhub_dispatch_requests_total",
    "convhub_dispatch_delivery_latency_seconds_bucket",
    "convhub_dispatch_request_latency_seconds_bucket",
    "convhub_dispatch_batch_size_bucket",
    "convhub_dispatch_breaker_state",
    "convhub_dispatch_backlog",
    "jetstream_stream_total_messages",
)
# The alerts an operator is paged by (k8s/components/dashboard/alerts.yaml).
REQUIRED_ALERTS = (
    "ConvhubEventsDeadLettered",  # events entering a dead-letter queue
    "ConvhubBreakerOpen",  # a breaker open for more than 5 minutes
    "ConvhubDispatchBacklogStuck",  # a dispatch backlog that does not move
    "ConvhubScheduledJobFailed",  # a CronJob's Job failed
)
# Metric name prefixes of the exporters convhub does not write (NATS exporter, kube-state-metrics).
EXTERNAL_METRIC_PREFIXES = ("jetstream_", "kube_")
REPO = Path(__file__).resolve().parents[2]
OPERATIONS_DOC = REPO / "docs" / "operations.md"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
MEBI = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, obj: dict[str, Any] | None, message: str) -> None:
        where = f"{obj['kind']}/{obj['metadata']['name']}: " if obj else ""
        self.items.append(where + message)

    def check(self, ok: bool, obj: dict[str, Any] | None, message: str) -> None:
        if not ok:
            self.add(obj, message)


# --- schema -----------------------------------------------------------------------------------

_OBJECT_META = {
    "$ref": "https://kubernetes.io/api/_definitions.json#/$defs/"
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# Prometheus durations as the operator's CRD accepts them ("5m", "1h30m", "0").
_DURATION = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?"
    r"(([0-9]+)ms)?)$",
}
# monitoring.coreos.com/v1 PrometheusRule, the fields of prometheus-operator's CRD that a rule
# file can hold; anything else is an error (as with the strict built-in schemas).
PROMETHEUS_RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": _OBJECT_META,
        "spec": {
            "type": "object",
            "required": ["groups"],
            "additionalProperties": False,
            "properties": {
                "groups": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["name", "rules"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "interval": _DURATION,
                            "query_offset": _DURATION,
                            "limit": {"type": "integer", "minimum": 0},
                            "partial_response_strategy": {"type": "string"},
                            "labels": _STRING_MAP,
                            "rules": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["expr"],
                                    "additionalProperties": False,
                                    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                                    "properties": {
                                        "alert": {"type": "string", "minLength": 1},
                                        "record": {"type": "string", "minLength": 1},
                                        "expr": {"type": "string", "minLength": 1},
                                        "for": _DURATION,
                                        "keep_firing_for": _DURATION,
                                        "labels": _STRING_MAP,
                                        "annotations": _STRING_MAP,
                                    },
                                },
                            },
                        },
                    },
                }
            },
        },
    },
}
# Custom resources convhub ships, explicitly: (apiVersion, kind) -> schema. A CRD missing here
# fails the check ("no schema"), so a new one is accepted only together with its schema.
CRD_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE_SCHEMA,
}


def _schema_root() -> Any:
    return importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"


@functools.cache
def _registry(version: str) -> tuple[Any, Registry]:
    folder = _schema_root() / f"v{version}.0-local-strict"
    if not folder.is_dir():
        available = sorted(p.name for p in _schema_root().iterdir())
        raise SystemExit(f"no bundled schemas for Kubernetes {version}; have {available}")
    definitions = json.loads((folder / "_definitions.json").read_text())
    return folder, Registry().with_resource(
        "https://kubernetes.io/api/_definitions.json", Resource.from_contents(definitions)
    )


@functools.cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.Validator | None:
    folder, registry = _registry(version)
    crd = CRD_SCHEMAS.get((api_version, kind))
    if crd is not None:
        return jsonschema.Draft202012Validator(crd, registry=registry)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = folder / f"{kind.lower()}-{group_version}.json"
    if not path.is_file():
        return None
    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def check_schemas(objects: list[dict[str, Any]], versions: list[str], p: Problems) -> int:
    checked = 0
    for obj in objects:
        for version in versions:
            validator = _validator(version, obj["kind"], obj["apiVersion"])
            if validator is None:
                p.add(
                    obj,
                    f"no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {version}"
                    " (a custom resource needs its schema in CRD_SCHEMAS)",
                )
                continue
            for error in sorted(validator.iter_errors(obj), key=lambda e: [str(x) for x in e.path]):
                path = ".".join(str(part) for part in error.absolute_path) or "(root)"
                p.add(obj, f"schema {version}: {path}: {error.message[:300]}")
            checked += 1
    return checked


# --- helpers ----------------------------------------------------------------------------------


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] == "CronJob":
        cron: dict[str, Any] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return cron
    if obj["kind"] in WORKLOADS:
        spec: dict[str, Any] = obj["spec"]["template"]["spec"]
        return spec
    return None


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def memory_bytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi)?", str(quantity))
    if not match:
        return float("inf")
    return float(match.group(1)) * MEBI.get(match.group(2) or "", 1)


def env_map(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


# --- policy -----------------------------------------------------------------------------------


def check_security(obj: dict[str, Any], spec: dict[str, Any], p: Problems) -> None:
    """Pod Security Standards "restricted", plus a read-only root and resource limits."""
    pod_sc = spec.get("securityContext", {})
    p.check(pod_sc.get("runAsNonRoot") is True, obj, "pod securityContext.runAsNonRoot is not true")
    p.check(
        pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault",
        obj,
        "pod seccompProfile is not RuntimeDefault",
    )
    p.check(not spec.get("hostNetwork") and not spec.get("hostPID"), obj, "uses host namespaces")
    for c in containers(spec):
        sc = c.get("securityContext", {})
        name = f"container {c['name']}"
        p.check(sc.get("allowPrivilegeEscalation") is False, obj, f"{name}: privilege escalation")
        p.check(sc.get("readOnlyRootFilesystem") is True, obj, f"{name}: root filesystem writable")
        p.check(not sc.get("privileged"), obj, f"{name}: privileged")
        p.check(sc.get("capabilities", {}).get("drop") == ["ALL"], obj, f"{name}: drop ALL")
        p.check(not sc.get("capabilities", {}).get("add"), obj, f"{name}: adds capabilities")
        if "runAsUser" in sc or "runAsUser" in pod_sc:
            p.check(sc.get("runAsUser", pod_sc.get("runAsUser")) != 0, obj, f"{name}: runs as 0")
        res = c.get("resources", {})
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                p.check(resource in res.get(kind, {}), obj, f"{name}: no {kind}.{resource}")


def check_references(
    objects: list[dict[str, Any]], external: set[str], claims: set[str], p: Problems
) -> None:
    """Every ConfigMap/Secret a pod names exists in the render (with the key), or is external;
    every PersistentVolumeClaim is rendered or one of the external `claims`."""
    found = {
        (o["kind"], o["metadata"]["name"]): set(o.get("data", {})) | set(o.get("stringData", {}))
        for o in objects
        if o["kind"] in ("ConfigMap", "Secret", "PersistentVolumeClaim")
    }

    def need(obj: dict[str, Any], kind: str, name: str, key: str | None, optional: bool) -> None:
        if (kind, name) not in found:
            if not optional and not (kind == "Secret" and name in external):
                p.add(obj, f"references {kind} {name}, which is neither rendered nor external")
            return
        if key is not None and key not in found[(kind, name)] and not optional:
            p.add(obj, f"references key {key!r} missing from {kind} {name}")

    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for c in containers(spec):
            for e in c.get("env", []):
                source = e.get("valueFrom", {})
                for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    if field in source:
                        ref = source[field]
                        need(obj, kind, ref["name"], ref["key"], bool(ref.get("optional")))
            for e in c.get("envFrom", []):
                for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if field in e:
                        need(obj, kind, e[field]["name"], None, bool(e[field].get("optional")))
        for v in spec.get("volumes", []):
            if "secret" in v:
                s = v["secret"]
                for item in s.get("items", []) or [None]:
                    key = item["key"] if item else None
                    need(obj, "Secret", s["secretName"], key, bool(s.get("optional")))
            if "configMap" in v:
                cm = v["configMap"]
                need(obj, "ConfigMap", cm["name"], None, bool(cm.get("optional")))
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                p.check(
                    ("PersistentVolumeClaim", claim) in found or claim in claims,
                    obj,
                    f"references PersistentVolumeClaim {claim}, which is neither rendered nor"
                    " external",
                )
        p.check(
            spec.get("serviceAccountName") is None
            or ("ServiceAccount", spec["serviceAccountName"])
            in {(o["kind"], o["metadata"]["name"]) for o in objects},
            obj,
            f"serviceAccountName {spec.get('serviceAccountName')} is not rendered",
        )


def check_service(name: str, index: dict[tuple[str, str], dict[str, Any]], p: Problems) -> None:
    pkg = name.replace("-", "_")
    missing = [
        kind
        for kind in (
            "Deployment",
            "Service",
            "ServiceAccount",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
        )
        if (kind, name) not in index
    ]
    if missing:
        p.add(None, f"service {name}: missing {', '.join(missing)} named {name}")
        return
    dep = index[("Deployment", name)]
    spec = dep["spec"]["template"]["spec"]
    pod_labels = dep["spec"]["template"]["metadata"].get("labels", {})
    p.check(matches(dep["spec"]["selector"]["matchLabels"], pod_labels), dep, "selector ≠ labels")
    p.check("replicas" not in dep["spec"], dep, "spec.replicas set: the HPA owns the count")
    p.check(spec.get("serviceAccountName") == name, dep, "serviceAccountName is not the service")
    p.check(spec.get("terminationGracePeriodSeconds", 30) >= 30, dep, "grace period < 30 s")
    pod_sc = spec.get("securityContext", {})
    p.check(pod_sc.get("runAsUser") == 10001, dep, "pod runAsUser is not 10001")
    by_name = {c["name"]: c for c in spec["containers"]}
    c = by_name.get(name)
    if c is None:
        p.add(dep, f"no container named {name}")
        return
    image = c["image"]
    p.check(
        re.search(rf"(^|/)convhub/{re.escape(name)}([:@]|$)", image) is not None,
        dep,
        f"image {image} is not convhub/{name}",
    )
    p.check(c.get("command") == ["python", "-m", f"{pkg}.main"], dep, f"command is not {pkg}.main")
    ports = {port.get("name"): port["containerPort"] for port in c.get("ports", [])}
    p.check(ports.get("grpc") == GRPC_PORT, dep, f"no containerPort grpc={GRPC_PORT}")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        grpc = c.get(probe, {}).get("grpc")
        p.check(grpc is not None and grpc.get("port") == GRPC_PORT, dep, f"{probe} not gRPC")
        p.check(grpc is None or grpc.get("service", "") == "", dep, f"{probe} service is not ''")
    limit = c.get("resources", {}).get("limits", {}).get("memory", "0")
    p.check(memory_bytes(limit) <= 512 * MEBI["Mi"], dep, f"memory limit {limit} > 512Mi")
    env = env_map(c)
    expected = {
        "OTEL_SERVICE_NAME": name,
        "CONVHUB_GRPC_PORT": str(GRPC_PORT),
        "OTEL_PYTHON_GRPC_EXCLUDED_SERVICES": "grpc.health.v1.Health",
        "CONVHUB_JWT_SECRET_FILE": None,
        "CONVHUB_DATABASE_URL": None,
        "CONVHUB_NATS_URL": None,
        "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    }
    if name in WITH_CREDENTIALS:
        expected["CONVHUB_CREDENTIALS_DIR"] = None
    for var, value in expected.items():
        p.check(var in env, dep, f"env {var} missing")
        if value is not None and var in env:
            p.check(env[var].get("value") == value, dep, f"env {var} is not {value!r}")
    p.check(
        env.get("CONVHUB_DATABASE_URL", {}).get("valueFrom", {}).get("secretKeyRef") is not None,
        dep,
        "CONVHUB_DATABASE_URL does not come from a Secret",
    )
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    p.check("emptyDir" in volumes.get(mounts.get("/tmp", ""), {}), dep, "/tmp is not an emptyDir")
    for var in ("CONVHUB_JWT_SECRET_FILE", "CONVHUB_CREDENTIALS_DIR"):
        path = env.get(var, {}).get("value")
        if path is None:
            continue
        mount = next((m for m in mounts if path == m or path.startswith(m + "/")), None)
        p.check(
            mount is not None and "secret" in volumes.get(mounts[mount], {}),
            dep,
            f"{var}={path} is not on a Secret volume",
        )

    if name == "attribution":  # the reconcile job's ingest; the export job's files
        p.check(
            env.get("CONVHUB_INGEST_ADDRESS", {}).get("value") == f"ingest:{GRPC_PORT}",
            dep,
            f"env CONVHUB_INGEST_ADDRESS is not 'ingest:{GRPC_PORT}'",
        )
        path = env.get("CONVHUB_EXPORT_DIR", {}).get("value", "")
        mount = next(
            (m for m in c.get("volumeMounts", []) if path and path == m["mountPath"]), None
        )
        p.check(
            mount is not None
            and not mount.get("readOnly")
            and "persistentVolumeClaim" in volumes.get(mount["name"], {}),
            dep,
            "CONVHUB_EXPORT_DIR is not a writable PersistentVolumeClaim mount",
        )

    svc = index[("Service", name)]
    p.check(matches(svc["spec"].get("selector", {}), pod_labels), svc, "selects no pod of " + name)
    for port in svc["spec"]["ports"]:
        target = port.get("targetPort", port.get("port"))
        p.check(target in ports or target in ports.values(), svc, f"targetPort {target} unknown")
    if name == "ingest":  # the webhook receiver: its port, on the pod and the Service
        p.check(
            ports.get("webhooks") == WEBHOOK_PORT, dep, f"no containerPort webhooks={WEBHOOK_PORT}"
        )
        p.check(
            env.get("CONVHUB_WEBHOOK_PORT", {}).get("value") == str(WEBHOOK_PORT),
            dep,
            f"env CONVHUB_WEBHOOK_PORT is not {WEBHOOK_PORT!r}",
        )
        p.check(
            any(
                port.get("name") == "webhooks" and port.get("port") == WEBHOOK_PORT
                for port in svc["spec"]["ports"]
            ),
            svc,
            f"no port webhooks={WEBHOOK_PORT}",
        )
    hpa = index[("HorizontalPodAutoscaler", name)]
    p.check(hpa["apiVersion"] == "autoscaling/v2", hpa, "not autoscaling/v2")
    ref = hpa["spec"]["scaleTargetRef"]
    p.check((ref["kind"], ref["name"]) == ("Deployment", name), hpa, "does not target " + name)
    p.check(
        any(
            m["type"] == "Resource" and m["resource"]["name"] == "cpu"
            for m in hpa["spec"].get("metrics", [])
        ),
        hpa,
        "no CPU metric",
    )
    p.check(hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], hpa, "min > max")
    pdb = index[("PodDisruptionBudget", name)]
    p.check(
        ("minAvailable" in pdb["spec"]) != ("maxUnavailable" in pdb["spec"]),
        pdb,
        "needs exactly one of minAvailable / maxUnavailable",
    )
    p.check(matches(pdb["spec"]["selector"]["matchLabels"], pod_labels), pdb, "selects no pod")

    job = index.get(("Job", f"{name}-migrate"))
    if job is None:
        p.add(None, f"service {name}: no migration Job {name}-migrate")
        return
    jspec = job["spec"]["template"]["spec"]
    jc = jspec["containers"][0]
    p.check(jc.get("command") == ["python", "-m", f"{pkg}.migrate"], job, "command not migrate")
    p.check(jc["image"] == image, job, f"image {jc['image']} differs from the Deployment's")
    p.check(jspec.get("restartPolicy") in ("OnFailure", "Never"), job, "restartPolicy")
    job_labels = job["spec"]["template"]["metadata"].get("labels", {})
    for selector_owner in (svc["spec"].get("selector", {}), pdb["spec"]["selector"]["matchLabels"]):
        p.check(not matches(selector_owner, job_labels), job, "its pods match the Service or PDB")


def check_cronjobs(
    objects: list[dict[str, Any]], index: dict[tuple[str, str], Any], p: Problems
) -> None:
    """Every CronJob: runs at most once at a time, gives up on a run it missed by long, retries a
    little and never forever, keeps its failed Jobs (ConvhubScheduledJobFailed reads them), runs
    a service's image and matches no Service or PDB. The base's own (CRONJOBS) exist as listed,
    each on its schedule, its command starting as listed (options may follow)."""
    for name, (service, command, schedule) in CRONJOBS.items():
        cron = index.get(("CronJob", name))
        if cron is None:
            p.add(None, f"no CronJob {name}")
            continue
        (c,) = pod_spec(cron)["containers"]  # type: ignore[index]
        p.check(
            c.get("command", [])[: len(command)] == command,
            cron,
            f"command is not {' '.join(command)}",
        )
        p.check(cron["spec"].get("schedule") == schedule, cron, f"schedule is not {schedule!r}")
        p.check(
            re.search(rf"(^|/)convhub/{re.escape(service)}([:@]|$)", c["image"]) is not None,
            cron,
            f"image {c['image']} is not convhub/{service}",
        )
    owners = [o for o in objects if o["kind"] in ("Service", "PodDisruptionBudget")]
    for cron in (o for o in objects if o["kind"] == "CronJob"):
        spec, job = cron["spec"], cron["spec"]["jobTemplate"]["spec"]
        p.check(spec.get("concurrencyPolicy") == "Forbid", cron, "concurrencyPolicy is not Forbid")
        p.check("startingDeadlineSeconds" in spec, cron, "no startingDeadlineSeconds")
        p.check("backoffLimit" in job, cron, "no jobTemplate backoffLimit")
        p.check("activeDeadlineSeconds" in job, cron, "no jobTemplate activeDeadlineSeconds")
        p.check(
            "ttlSecondsAfterFinished" not in job,
            cron,
            "ttlSecondsAfterFinished deletes the failed Jobs ConvhubScheduledJobFailed reads",
        )
        p.check(
            job["template"]["spec"].get("restartPolicy") in ("OnFailure", "Never"),
            cron,
            "restartPolicy",
        )
        labels = job["template"]["metadata"].get("labels", {})
        for owner in owners:
            selector = owner["spec"].get("selector", {})
            selector = selector.get("matchLabels", selector)
            p.check(
                not matches(selector, labels),
                cron,
                f"its pods match {owner['kind']}/{owner['metadata']['name']}",
            )


def check_egress(objects: list[dict[str, Any]], p: Problems) -> None:
    """Egress stays open (networkpolicy.yaml): the dispatchers and attribution call the ad
    platforms, attribution calls ingest, every service NATS, PostgreSQL and the collector."""
    for policy in (o for o in objects if o["kind"] == "NetworkPolicy"):
        spec = policy["spec"]
        p.check(
            "Egress" not in spec.get("policyTypes", []) and "egress" not in spec,
            policy,
            "restricts egress: the services must reach the platforms' APIs, ingest, NATS,"
            " PostgreSQL and the collector",
        )


# --- metrics the code exports -----------------------------------------------------------------

_INSTRUMENTS = {
    "create_counter": "counter",
    "create_observable_counter": "counter",
    "create_up_down_counter": "gauge",
    "create_observable_up_down_counter": "gauge",
    "create_gauge": "gauge",
    "create_observable_gauge": "gauge",
    "create_histogram": "histogram",
}
_UNIT_SUFFIX = {"s": "_seconds", "ms": "_milliseconds", "By": "_bytes"}


def prometheus_names(name: str, kind: str, unit: str) -> set[str]:
    """The series names an OpenTelemetry instrument gets from the collector's prometheus
    exporter (defaults): dots to underscores, a unit suffix, `_total` on counters, and
    `_bucket` / `_sum` / `_count` for histograms. `{event}`-style units add nothing."""
    base = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    suffix = _UNIT_SUFFIX.get(unit, "")
    if suffix and not base.endswith(suffix):
        base += suffix
    if kind == "counter":
        return {base if base.endswith("_total") else base + "_total"}
    if kind == "histogram":
        return {base + "_bucket", base + "_sum", base + "_count"}
    return {base}


@functools.cache
def exported_metrics() -> frozenset[str]:
    """Every metric the services export, read from the instruments created in libs/ and
    services/ (`meter.create_counter("convhub.dispatch.events", unit=...)`)."""
    found: set[str] = set()
    for root in ("libs", "services"):
        for path in (REPO / root).glob("*/src/**/*.py"):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):
                continue
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _INSTRUMENTS
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    continue
                unit = next(
                    (
                        k.value.value
                        for k in node.keywords
                        if k.arg == "unit" and isinstance(k.value, ast.Constant)
                    ),
                    "",
                )
                found |= prometheus_names(node.args[0].value, _INSTRUMENTS[node.func.attr], unit)
    return frozenset(found)


_SELECTOR = re.compile(r"(?<![\w:$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{\[]")


def unknown_metrics(expr: str) -> list[str]:
    """Metric names in a PromQL expression that no convhub instrument exports and no known
    exporter (EXTERNAL_METRIC_PREFIXES) provides."""
    names = set(_SELECTOR.findall(expr)) | set(re.findall(r"(?<![\w:])convhub_\w+", expr))
    known = exported_metrics()
    return sorted(n for n in names if n not in known and not n.startswith(EXTERNAL_METRIC_PREFIXES))


def anchors(markdown: Path) -> set[str]:
    """GitHub's anchors of a Markdown file's headings (lowercase, punctuation dropped, spaces
    to hyphens)."""
    found = set()
    for line in markdown.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            text = re.sub(r"[^\w\- ]", "", match.group(1).lower())
            found.add(text.replace(" ", "-"))
    return found


def check_dashboard(objects: list[dict[str, Any]], p: Problems) -> None:
    boards = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"].get("labels", {})
    ]
    if not boards:
        p.add(None, "no Grafana dashboard ConfigMap (label grafana_dashboard)")
        return
    for cm in boards:
        for key, text in cm.get("data", {}).items():
            try:
                board = json.loads(text)
            except json.JSONDecodeError as exc:
                p.add(cm, f"{key} is not JSON: {exc}")
                continue
            exprs = [
                t.get("expr", "")
                for panel in board.get("panels", [])
                for t in panel.get("targets", [])
            ]
            p.check(all(exprs) and len(exprs) >= 10, cm, f"{key}: empty or too few queries")
            joined = "\n".join(exprs)
            for metric in DASHBOARD_METRICS:
                p.check(metric in joined, cm, f"{key}: no panel queries {metric}")
            for name in unknown_metrics(joined):
                p.add(cm, f"{key}: queries {name}, which no convhub instrument exports")
            for panel in board.get("panels", []):
                if panel.get("type") != "row":
                    ds = panel.get("datasource", {})
                    p.check(
                        ds.get("type") == "prometheus",
                        cm,
                        f"panel {panel.get('title')}: not Prometheus",
                    )


def check_alerts(objects: list[dict[str, Any]], p: Problems) -> None:
    """The PrometheusRules: the required alerts, each with a severity, a summary, a description
    and a runbook that is a section of docs/operations.md, querying metrics that exist."""
    rules = [o for o in objects if o["kind"] == "PrometheusRule"]
    if not rules:
        p.add(None, "no PrometheusRule (k8s/components/dashboard/alerts.yaml)")
        return
    sections = anchors(OPERATIONS_DOC) if OPERATIONS_DOC.is_file() else set()
    names: list[str] = []
    for obj in rules:
        for group in obj["spec"]["groups"]:
            for rule in group["rules"]:
                if "alert" not in rule:
                    continue
                alert = rule["alert"]
                names.append(alert)
                where = f"alert {alert}"
                p.check(
                    rule.get("labels", {}).get("severity") in ("critical", "warning"),
                    obj,
                    f"{where}: labels.severity is not critical or warning",
                )
                notes = rule.get("annotations", {})
                for key in ("summary", "description", "runbook_url"):
                    p.check(bool(notes.get(key)), obj, f"{where}: no {key} annotation")
                runbook = notes.get("runbook_url", "")
                if runbook:
                    path, _, anchor = runbook.partition("#")
                    p.check(
                        path == "docs/operations.md" and anchor in sections,
                        obj,
                        f"{where}: runbook {runbook} is not a section of docs/operations.md",
                    )
                expr = rule["expr"]
                p.check(
                    expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"),
                    obj,
                    f"{where}: unbalanced brackets in expr",
                )
                for name in unknown_metrics(expr):
                    p.add(obj, f"{where}: queries {name}, which no convhub instrument exports")
    for alert in REQUIRED_ALERTS:
        p.check(alert in names, None, f"no alert {alert}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    p.check(not duplicates, None, f"alerts defined twice: {duplicates}")


def check_sources(p: Problems) -> None:
    """What is deployed is what exists: every folder of services/ is a deployed service and the
    other way round, each with the entry points the root Dockerfile's image runs."""
    folders = {d.name for d in (REPO / "services").iterdir() if (d / "pyproject.toml").is_file()}
    for name in sorted(folders - set(SERVICES)):
        p.add(None, f"services/{name} has code but k8s deploys no {name} (k8s/base, SERVICES)")
    for name in sorted(set(SERVICES) - folders):
        p.add(None, f"k8s deploys {name}, but services/{name} has no code")
    for name in sorted(folders & set(SERVICES)):
        pkg = REPO / "services" / name / "src" / name.replace("-", "_")
        for module in ("main", "migrate"):
            p.check(
                (pkg / f"{module}.py").is_file(),
                None,
                f"services/{name}: no {pkg.name}.{module} for the image and its Jobs",
            )
    p.check((REPO / "Dockerfile").is_file(), None, "no root Dockerfile (it builds every image)")


def check_otel_config(objects: list[dict[str, Any]], p: Problems) -> None:
    for cm in objects:
        if cm["kind"] != "ConfigMap" or not cm["metadata"]["name"].startswith(
            "otel-collector-config"
        ):
            continue
        config = yaml.safe_load(cm["data"]["config.yaml"])
        for pipeline, spec in config["service"]["pipelines"].items():
            for section in ("receivers", "processors", "exporters"):
                for component in spec.get(section, []):
                    p.check(
                        component in config.get(section, {}),
                        cm,
                        f"{pipeline}: {component} undefined",
                    )
        exporters = config.get("exporters", {})
        p.check(any(e.startswith("otlp") for e in exporters), cm, "no OTLP exporter (Jaeger)")
        p.check("prometheus" in exporters, cm, "no prometheus exporter")


def check_profile(profile: str, objects: list[dict[str, Any]], p: Problems) -> None:
    index = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    kinds = {o["kind"] for o in objects}
    images = [(o, c["image"]) for o in objects if (spec := pod_spec(o)) for c in containers(spec)]
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    p.check("NetworkPolicy" in kinds, None, "no NetworkPolicy")
    if profile == "base":
        check_sources(p)
    if profile in ("dev", "prod"):
        for obj, image in images:
            p.check(
                not image.endswith(":latest") and (":" in image.rsplit("/", 1)[-1] or "@" in image),
                obj,
                f"image {image} is not pinned to a tag or digest",
            )
        namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
        p.check(len(namespaces) == 1 and None not in namespaces, None, f"namespaces {namespaces}")
        check_dashboard(objects, p)
        check_alerts(objects, p)
    if profile == "dev":
        nats = index.get(("StatefulSet", "nats"))
        p.check(nats is not None, None, "dev: no NATS StatefulSet")
        if nats:
            args = nats["spec"]["template"]["spec"]["containers"][0].get("args", [])
            p.check("-js" in args or "--jetstream" in args, nats, "JetStream is not enabled")
            p.check(
                bool(nats["spec"].get("volumeClaimTemplates")), nats, "no PersistentVolumeClaim"
            )
        p.check(("StatefulSet", "postgres") in index, None, "dev: no PostgreSQL StatefulSet")
        p.check(("Deployment", "jaeger") in index, None, "dev: no Jaeger")
        p.check(("Deployment", "otel-collector") in index, None, "dev: no OpenTelemetry Collector")
        check_otel_config(objects, p)
        for hpa in hpas:
            p.check(hpa["spec"]["maxReplicas"] == 1, hpa, "dev runs one replica of each service")
        for secret in (o for o in objects if o["kind"] == "Secret"):
            p.check(
                secret["metadata"].get("labels", {}).get("convhub.io/dev-only") == "true",
                secret,
                "dev Secret not labelled convhub.io/dev-only",
            )
    if profile == "prod":
        for hpa in hpas:
            p.check(hpa["spec"]["minReplicas"] >= 2, hpa, "prod needs minReplicas >= 2")
        stateful = kinds & {"StatefulSet", "Secret", "PersistentVolumeClaim"}
        p.check(not stateful, None, f"prod renders state or secrets: {sorted(stateful)}")
        for obj, image in images:
            p.check("@sha256:" in image, obj, f"prod image {image} is not pinned by digest")
        for dep in (o for o in objects if o["kind"] == "Deployment"):
            p.check(
                bool(dep["spec"]["template"]["spec"].get("topologySpreadConstraints")),
                dep,
                "no topologySpreadConstraints",
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rendered", type=Path)
    parser.add_argument("--profile", choices=("base", "dev", "prod"), required=True)
    parser.add_argument("--kube-versions", default="1.30,1.37")
    args = parser.parse_args()
    versions = [v.strip() for v in args.kube_versions.split(",") if v.strip()]

    objects = [d for d in yaml.safe_load_all(args.rendered.read_text()) if d]
    p = Problems()
    seen: set[tuple[Any, Any, Any]] = set()
    for obj in objects:
        key = (
            obj.get("kind"),
            obj.get("metadata", {}).get("namespace"),
            obj.get("metadata", {}).get("name"),
        )
        p.check(key not in seen, None, f"duplicate object {key}")
        seen.add(key)

    checked = check_schemas(objects, versions, p)
    index = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    external = set() if args.profile == "dev" else EXTERNAL_SECRETS
    policies: list[tuple[str, Any]] = [
        (f"service {name}", functools.partial(check_service, name, index, p)) for name in SERVICES
    ]
    for o in objects:
        spec = pod_spec(o)
        if spec is not None:
            what = f"{o['kind']}/{o['metadata']['name']}"
            policies.append((what, functools.partial(check_security, o, spec, p)))
    claims = set() if args.profile == "dev" else EXTERNAL_CLAIMS
    policies.append(
        ("references", functools.partial(check_references, objects, external, claims, p))
    )
    policies.append(("egress", functools.partial(check_egress, objects, p)))
    policies.append(("cronjobs", functools.partial(check_cronjobs, objects, index, p)))
    policies.append((args.profile, functools.partial(check_profile, args.profile, objects, p)))
    for what, policy in policies:
        try:
            policy()
        except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
            # A malformed object (the schema layer says how); don't hide the other problems.
            p.add(None, f"policy check of {what} could not run: {type(exc).__name__}: {exc}")

    label = f"{args.rendered.name} ({args.profile})"
    if p.items:
        for item in p.items:
            print(f"  FAIL {label}: {item}")
        print(f"{label}: {len(p.items)} problem(s)")
        return 1
    print(
        f"{label}: {len(objects)} objects, {checked} schema validations "
        f"(strict, Kubernetes {', '.join(versions)}), policy checks passed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
