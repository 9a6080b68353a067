#!/bin/bash
# deploy/kubernetes: every manifest validates against the Kubernetes JSON
# Schemas in ../shared/schemas/kubernetes (strict: an unknown field is an
# error), yamllint is clean, kustomization.yaml names files that exist, and
# the DaemonSet and ClusterRoles keep their least privileges
# (tests/k8s_check.py). Each check is also shown failing on a broken copy.
. "$(dirname "$0")/lib.sh"

K8S=$TOP/deploy/kubernetes
SCHEMAS=${NRO_K8S_SCHEMAS:-$TOP/../shared/schemas/kubernetes/v1.32.2-standalone-strict}
CHECK=$TOP/tests/k8s_check.py

oneTimeSetUp() {
	nro_tmpdir
	MANIFESTS=$(find "$K8S" -name '*.yaml' ! -name kustomization.yaml | sort)
}
oneTimeTearDown() { rm -rf "$TMP"; }

test_manifests_validate_strictly() {
	[ -d "$SCHEMAS" ] || { fail "no schemas in $SCHEMAS"; return; }
	# shellcheck disable=SC2086
	out=$(python3 "$CHECK" schema "$SCHEMAS" $MANIFESTS 2>&1)
	assertEquals "schema problems" "" "$out"
	n=$(echo "$MANIFESTS" | wc -l)
	assertTrue "found the manifests ($n)" "[ $n -ge 7 ]"
}

test_schema_check_catches_an_unknown_field() {
	sed 's/^  updateStrategy:/  updateStrategyy:/' "$K8S/daemonset.yaml" >"$TMP/ds.yaml"
	out=$(python3 "$CHECK" schema "$SCHEMAS" "$TMP/ds.yaml")
	assertEquals "fails" 1 $?
	assertContains "names the field" "$out" "updateStrategyy"
}

test_yamllint_clean() {
	out=$(yamllint -s "$K8S" 2>&1)
	assertEquals "yamllint" 0 $?
	assertEquals "" "$out"
}

test_kustomizations_name_existing_files() {
	for k in $(find "$K8S" -name kustomization.yaml); do
		d=$(dirname "$k")
		for r in $(python3 -c 'import sys, yaml; print("\n".join(yaml.safe_load(open(sys.argv[1])).get("resources", [])))' "$k"); do
			assertTrue "$k: $r exists" "[ -e '$d/$r' ]"
		done
	done
	assertFalse "the nodes/proxy fallback is not applied by default" \
		"grep -q '^ *- rbac-nodes-proxy' '$K8S/kustomization.yaml'"
	assertFalse "no nodes/proxy in the default role" "grep -q nodes/proxy '$K8S/rbac.yaml'"
}

test_least_privilege() {
	# shellcheck disable=SC2086
	out=$(python3 "$CHECK" security $MANIFESTS 2>&1)
	assertEquals "security problems" "" "$out"
}

# each break must be reported (the checker can fail)
test_security_check_catches_breaks() {
	while IFS='|' read -r from to want; do
		sed "s#$from#$to#" "$K8S/daemonset.yaml" >"$TMP/ds.yaml"
		cmp -s "$K8S/daemonset.yaml" "$TMP/ds.yaml" && { fail "sed '$from' changed nothing"; continue; }
		out=$(python3 "$CHECK" security "$TMP/ds.yaml")
		assertEquals "$want: fails" 1 $?
		assertContains "$want" "$out" "$want"
	done <<'BREAKS'
privileged: false|privileged: true|observer: privileged
hostNetwork: false|hostNetwork: true|hostNetwork on
runAsNonRoot: true|runAsNonRoot: false|pod not runAsNonRoot
type: RuntimeDefault|type: Unconfined|seccompProfile
add: \["SYSLOG"\]|add: ["SYSLOG", "SYS_ADMIN"]|kmsg: adds capabilities ['SYS_ADMIN']
readOnlyRootFilesystem: true|readOnlyRootFilesystem: false|root filesystem not read-only
medium: Memory|medium: ""|run directory not on an emptyDir
value: $(NODE_NAME)$|value: localhost|certificate not checked
- operator: Exists|- operator: Equal|does not tolerate
BREAKS
	sed '/mountPath: \/host\/proc/{n;s/readOnly: true/readOnly: false/}' "$K8S/daemonset.yaml" >"$TMP/ds.yaml"
	assertContains "writable host mount" "$(python3 "$CHECK" security "$TMP/ds.yaml")" "host mount /host/proc is writable"
	sed 's#- nodes/pods .*#- nodes/proxy#' "$K8S/rbac.yaml" >"$TMP/rbac.yaml"
	assertContains "nodes/proxy in the default role" \
		"$(python3 "$CHECK" security "$K8S/daemonset.yaml" "$TMP/rbac.yaml")" "beyond the kubelet subresources"
	# collector-apiserver's roles: read this node's objects, nothing more
	sed 's#verbs: \["get", "list", "watch"\]#verbs: ["get", "list", "watch", "delete"]#' \
		"$K8S/rbac-apiserver.yaml" >"$TMP/rbac-api.yaml"
	assertContains "a write verb in the apiserver role" \
		"$(python3 "$CHECK" security "$K8S/daemonset.yaml" "$TMP/rbac-api.yaml")" "apiserver role holds"
	sed 's#resources: \["leases"\]#resources: ["leases", "secrets"]#' \
		"$K8S/rbac-apiserver.yaml" >"$TMP/rbac-api.yaml"
	assertContains "secrets in the Lease role" \
		"$(python3 "$CHECK" security "$K8S/daemonset.yaml" "$TMP/rbac-api.yaml")" "apiserver role holds"
	sed 's#namespace: kube-node-lease#namespace: default#' \
		"$K8S/rbac-apiserver.yaml" >"$TMP/rbac-api.yaml"
	assertContains "the Lease role elsewhere" \
		"$(python3 "$CHECK" security "$K8S/daemonset.yaml" "$TMP/rbac-api.yaml")" "outside kube-node-lease"
}

assertContains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in '$2'" ;;
	esac
}

. shunit2
