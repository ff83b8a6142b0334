#!/usr/bin/env bash
# Share of track messages with a homography and pitch positions on a clip, with the daemon's
# automatic calibration (docs/pitch.md):
#   tools/measure/calibration.sh CLIP [CONFIG]
# Every frame is processed (offline, ring blocks); extra settings come as FOOTRACKD_* variables,
# e.g. FOOTRACKD_PITCH__KEYPOINT_EVERY_FRAMES=250 to measure drift with rarer keypoints.
set -euo pipefail
cd "$(dirname "$0")/../.."
clip=$1
config=${2:-config/examples/demo.toml}
. tools/measure/common.sh
mosquitto_sub -p "$BROKER_PORT" -t 'footrack/measure/#' -v > "$work/messages.txt" &
sub=$!
sleep 0.3
start=$(date +%s.%N)
FOOTRACKD_DEVICE__ID=measure FOOTRACKD_PUBLISH__BROKER_PORT="$BROKER_PORT" FOOTRACKD_SOURCE__URI="$clip" \
  FOOTRACKD_SOURCE__REALTIME=false FOOTRACKD_RING__OVERFLOW=block FOOTRACKD_CONTROL__HEALTH_INTERVAL_SECS=1 \
  "$bin" run -c "$config" ${FOOTRACKD_ARGS:-} 2> "$work/log.txt" || { tail -20 "$work/log.txt"; exit 1; }
end=$(date +%s.%N)
sleep 0.5
kill $sub 2>/dev/null || true
python3 - "$work/messages.txt" "$start" "$end" <<'PY'
import json, sys
tracks, health = [], None
for line in open(sys.argv[1]):
    topic, _, payload = line.partition(" ")
    if topic.endswith("/tracks"):
        tracks.append(json.loads(payload))
    elif topic.endswith("/health"):
        health = json.loads(payload)
n = len(tracks)
with_h = sum(1 for t in tracks if t.get("homography") is not None)
people = [r for t in tracks for r in t["tracks"] if r.get("role") != "ball"]
placed = [r for t in tracks if t.get("homography") is not None for r in t["tracks"]]
with_team = sum(1 for t in tracks if any(r.get("team") is not None for r in t["tracks"]))
origins = {}
for t in tracks:
    origins[t.get("calibration")] = origins.get(t.get("calibration"), 0) + 1
print(json.dumps({
    "messages": n,
    "share_with_homography": with_h / max(n, 1),
    "share_of_tracks_with_pitch_when_calibrated": sum(1 for r in placed if r.get("pitch") is not None) / max(len(placed), 1),
    "messages_with_a_team": with_team / max(n, 1),
    "people_with_a_team": sum(1 for r in people if r.get("team") is not None) / max(len(people), 1),
    "origins": origins,
    "fps": n / (float(sys.argv[3]) - float(sys.argv[2])),
    "health_calibration": (health or {}).get("calibration"),
}, indent=1))
PY
