#!/usr/bin/env bash
# The published ball against exact ground truth on a synthetic clip (docs/detector.md, "The ball
# tracker"): share of frames whose published ball lies within 5 px of the true ball (centres),
# share of frames with a visible true ball that have a published one, and how many published balls
# were predicted (bridged) rather than seen.
#   tools/measure/ball.sh [CLIP_DIR] [CONFIG]      (CLIP_DIR holds clip.mp4 and gt/gt.txt; default demo/)
# BALL_TRACE=FILE writes one line per frame: frame, true centre, published centre, predicted.
# Every frame is processed (offline, ring blocks); extra settings come as FOOTRACKD_* variables,
# e.g. FOOTRACKD_INFER__BALL_FOCUS_REGIONS=0 for the whole-frame pass alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-demo}
config=${2:-config/examples/demo.toml}
. tools/measure/common.sh
mosquitto_sub -p "$BROKER_PORT" -t 'footrack/measure/tracks' > "$work/messages.txt" &
sub=$!
sleep 0.3
FOOTRACKD_DEVICE__ID=measure FOOTRACKD_PUBLISH__BROKER_PORT="$BROKER_PORT" FOOTRACKD_SOURCE__URI="$PWD/$dir/clip.mp4" \
  FOOTRACKD_SOURCE__REALTIME=false FOOTRACKD_RING__OVERFLOW=block \
  "$bin" run -c "$config" ${FOOTRACKD_ARGS:-} 2> "$work/log.txt" || { tail -20 "$work/log.txt"; exit 1; }
sleep 0.5
kill $sub 2>/dev/null || true
python3 - "$work/messages.txt" "$dir/gt/gt.txt" <<'PY'
import json, sys
truth = {}
for line in open(sys.argv[2]):
    f, _, x, y, w, h, _, cls, vis = line.strip().split(",")[:9]
    if cls == "4" and float(vis) > 0:
        truth[int(f)] = (float(x) + float(w) / 2, float(y) + float(h) / 2)
import os
trace = open(os.environ["BALL_TRACE"], "w") if os.environ.get("BALL_TRACE") else None
frames = within = published = predicted = false_balls = 0
for line in open(sys.argv[1]):
    msg = json.loads(line)
    frames += 1
    balls = [t for t in msg["tracks"] if t["class"] == "ball"]
    assert len(balls) <= 1, f"frame {msg['frame']}: {len(balls)} balls published"
    gt = truth.get(msg["frame"] + 1)  # gt frames count from 1
    if trace:
        b = balls[0] if balls else None
        centre = b and [round((b["box"][0] + b["box"][2]) / 2, 1), round((b["box"][1] + b["box"][3]) / 2, 1)]
        trace.write(json.dumps([msg["frame"], gt, centre, bool(b and b.get("predicted"))]) + "\n")
    if balls:
        published += 1
        predicted += bool(balls[0].get("predicted"))
        x1, y1, x2, y2 = balls[0]["box"]
        if gt is not None and ((x1 + x2) / 2 - gt[0]) ** 2 + ((y1 + y2) / 2 - gt[1]) ** 2 <= 25:
            within += 1
        elif gt is None or ((x1 + x2) / 2 - gt[0]) ** 2 + ((y1 + y2) / 2 - gt[1]) ** 2 > 30 ** 2:
            false_balls += 1
seen = sum(1 for f in truth)
print(json.dumps({
    "messages": frames,
    "frames_with_visible_ball": seen,
    "share_within_5px": within / max(frames, 1),
    "share_within_5px_of_visible": within / max(seen, 1),
    "published_balls": published,
    "predicted_balls": predicted,
    "published_more_than_30px_off_or_no_ball": false_balls,
}, indent=1))
PY
