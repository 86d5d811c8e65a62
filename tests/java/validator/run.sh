#!/usr/bin/env bash
# Offline HAPI FHIR R4 validator harness for fhirconv's tests.
#
#   tests/java/validator/run.sh [--ready] [--no-warmup] [--profile-dir DIR]... [--] [FILE...]
#
# Builds the Maven module the first time (and again whenever pom.xml or src/ changed), then runs
# org.fhirconv.harness.ValidatorMain: with FILE arguments it validates those files, otherwise it reads file paths
# from stdin, one per line, until EOF. One JSON line per file on stdout; everything else (Maven, logging) on stderr.
#
# Environment:
#   HARNESS_BUILD_ONLY=1   build (if needed) and exit without starting the JVM
#   HARNESS_JAVA_OPTS      JVM options (default: -Xmx2g -XX:+UseSerialGC -XX:TieredStopAtLevel=1; C1 only starts
#                          ~40% faster on 2 cores and is as fast on small files)
#   MAVEN_ARGS_EXTRA       extra arguments for mvn (e.g. -o, -Dmaven.repo.local=...)
# Needs only java (17+) and mvn on PATH; dependencies come from Maven Central into the default local repo (~/.m2).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAMP="$DIR/target/.harness-built"

needs_build() {
    [[ -f "$STAMP" && -f "$DIR/target/classes/org/fhirconv/harness/ValidatorMain.class" && -d "$DIR/target/lib" ]] \
        || return 0
    # anything in the pom or the sources newer than the last successful build?
    [[ -n "$(find "$DIR/pom.xml" "$DIR/src" -newer "$STAMP" -print -quit)" ]]
}

build() {
    # stdout is the JSON channel: Maven's output goes to stderr.
    (
        cd "$DIR"
        echo "[fhirconv-harness] building the validator harness (first run downloads HAPI FHIR from Maven Central)..." >&2
        rm -rf target/lib "$STAMP"
        touch "$STAMP.new" # taken before the build: a source edited during the build makes the next run rebuild
        # shellcheck disable=SC2086
        mvn -B -q -Dstyle.color=never ${MAVEN_ARGS_EXTRA:-} package dependency:copy-dependencies \
            -DoutputDirectory=target/lib -DincludeScope=runtime 1>&2
        mv "$STAMP.new" "$STAMP"
    )
}

if needs_build; then
    mkdir -p "$DIR/target"
    if command -v flock >/dev/null 2>&1; then
        # serialise concurrent first runs (e.g. parallel test workers); re-check once we hold the lock
        exec 9>"$DIR/target/.build.lock"
        flock 9
        if needs_build; then build; fi
        flock -u 9
        exec 9>&-
    else
        build
    fi
fi

if [[ "${HARNESS_BUILD_ONLY:-}" == "1" ]]; then
    exit 0
fi

# shellcheck disable=SC2086
exec java ${HARNESS_JAVA_OPTS:--Xmx2g -XX:+UseSerialGC -XX:TieredStopAtLevel=1} \
    -cp "$DIR/target/classes:$DIR/target/lib/*" org.fhirconv.harness.ValidatorMain "$@"
