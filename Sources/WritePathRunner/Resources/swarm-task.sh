#!/bin/busybox sh
# shellcheck shell=dash
# writepath's Docker Swarm task (Swarm.swift): runs the engine's command line (this script's
# arguments) and prints its result on stdout in the guest protocol's envelope (GuestProtocol.swift):
# WRITEPATH-STDERR, WRITEPATH-RESULT-BEGIN rc=N len=BYTES sha256=HEX, base64 of the gzip of the
# engine's JSON, WRITEPATH-RESULT-END. The task's log carries it; a truncated log is an error, never a number.
B=/bin/busybox
"$@" > /tmp/result.json 2> /tmp/stderr.txt
rc=$?
len=$($B wc -c < /tmp/result.json)
sum=$($B sha256sum /tmp/result.json | $B cut -d' ' -f1)
echo "WRITEPATH-STDERR $($B tail -c 600 /tmp/stderr.txt | $B base64 | $B tr -d '\n')"
echo "WRITEPATH-RESULT-BEGIN rc=$rc len=$len sha256=$sum"
$B gzip -c /tmp/result.json | $B base64
echo "WRITEPATH-RESULT-END"
