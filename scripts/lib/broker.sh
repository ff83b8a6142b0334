# Sourced by the scripts: start_broker WORKDIR starts a mosquitto of its own on a free loopback
# port (anonymous, no persistence), waits until it listens, sets BROKER_PORT and BROKER_PID, and
# on exit stops it and removes WORKDIR.
start_broker() {
  local work=$1
  BROKER_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$BROKER_PORT" > "$work/mosquitto.conf"
  mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
  BROKER_PID=$!
  trap 'kill $BROKER_PID 2>/dev/null || true; rm -rf "'"$work"'"' EXIT
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$BROKER_PORT") 2>/dev/null && break; sleep 0.1; done
}
