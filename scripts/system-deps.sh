#!/usr/bin/env bash
# Installs the Debian packages the tests need (PostgreSQL server, Chromium for the browser tests, a JDK and
# Maven for the Dataspace TCK in interop/dsp-tck; the same JDK runs PySpark for tests/fleet/test_spark.py),
# when they are missing and we can.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "warning: missing ${need[*]} and not root with apt-get: the tests needing them will be skipped" >&2
fi
