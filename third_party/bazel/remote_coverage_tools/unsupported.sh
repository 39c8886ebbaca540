#!/bin/sh
echo "coverage is not supported in this offline Bazel setup (gps_denied_onboard)" >&2
exit 1
