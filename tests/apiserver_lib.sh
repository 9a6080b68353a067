# Shared by the apiserver suites: a scenario for apiserver-replay built
# from the real v1.34 /pods capture, and starting/stepping the stand-in.
API_NODE=datagen-1-34
API_DATA=$TOP/tests/data/apiserver

# Writes the scenario into $1:
#   0 the capture, the Node (Ready, no pressure), the Lease
#   1 kindnet-zqk2n's container restarted once     2 nothing changes
#   3 storage-provisioner deleted; older resourceVersions compacted ("gone")
#   4 coredns restarted, delivered on a stream cut mid-line ("cut")
#   5 the API server drops every request ("down")   6 back up
api_scenario() {
	d=$1
	pods=$FIXTURES/v1.34/pods.json
	mkdir -p "$d"/step-000 "$d"/step-001 "$d"/step-002 "$d"/step-003 "$d"/step-004 \
		"$d"/step-005 "$d"/step-006
	jq . "$pods" >"$d/step-000/pods.json" # jq rewrites numbers and escapes its own way: every step alike
	cp "$API_DATA/node.json" "$API_DATA/lease.json" "$d/step-000/"
	jq '(.items[] | select(.metadata.name=="kindnet-zqk2n") | .status.containerStatuses[0].restartCount) = 1' \
		"$pods" >"$d/step-001/pods.json"
	jq 'del(.items[] | select(.metadata.name=="storage-provisioner"))' \
		"$d/step-001/pods.json" >"$d/step-003/pods.json"
	touch "$d/step-003/gone"
	jq '(.items[] | select(.metadata.name|startswith("coredns")) | .status.containerStatuses[0].restartCount) = 1' \
		"$d/step-003/pods.json" >"$d/step-004/pods.json"
	touch "$d/step-004/cut" "$d/step-005/down"
}

# Starts apiserver-replay on scenario $1 (more arguments follow), with the
# token in $TMP/token; sets API_URL and API_PID.
api_start() {
	[ -s "$TMP/token" ] || echo "sa-token-$$" >"$TMP/token"
	rm -f "$TMP/api.url"
	"$BIN/apiserver-replay" --scenario "$1" --node "$API_NODE" --token-file "$TMP/token" \
		"${@:2}" >"$TMP/api.url" 2>"$TMP/api.err" &
	API_PID=$!
	API_URL=$(wait_first_line "$TMP/api.url") || {
		echo "apiserver-replay did not start: $(cat "$TMP/api.err")" >&2
		return 1
	}
}

api_stop() {
	[ -n "$API_PID" ] || return 0
	kill "$API_PID" 2>/dev/null
	wait "$API_PID" 2>/dev/null
	API_PID=
}

# Advances one step; prints the new step number.
api_step() { curl -sS -X POST "$API_URL/replay/step"; }
